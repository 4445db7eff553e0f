"""Network registry: build by name, stored constructor arguments, errors."""
import json

import pytest
from torch import nn

from ltr.models import registry


def test_project_constructors_are_registered():
    for name in ("atom_efficientnet_lite0", "atom_resnet18", "atom_resnet50", "atom_tiny",
                 "regression_efficientnet_lite0", "regression_tiny"):
        assert name in registry.names()


def test_build_stores_json_like_constructor_arguments_with_defaults():
    net = registry.build("atom_tiny", backbone_channels=(4, 8), pred_dim=4)
    assert net.constructor == {"name": "atom_tiny", "kwargs": {"backbone_channels": [4, 8], "pred_dim": 4}}
    rebuilt = registry.build(net.constructor["name"], **json.loads(json.dumps(net.constructor["kwargs"])))
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {k: v.shape for k, v in net.state_dict().items()}
    assert registry.build("atom_tiny").constructor["kwargs"] == {"backbone_channels": [8, 16], "pred_dim": 8}


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError, match="atom_tiny"):
        registry.build("no_such_net")


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError, match="atom_tiny"):
        registry.build("atom_tiny", no_such_argument=1)
    with pytest.raises(ValueError, match="kwargs"):
        registry.to_json_like({"x": object()})


def test_register_custom_constructor_and_duplicate_name():
    @registry.register("test_only_linear")
    def test_only_linear(width: int = 3) -> nn.Module:
        return nn.Linear(width, 1)

    assert registry.build("test_only_linear", width=5).in_features == 5
    with pytest.raises(ValueError, match="already exists"):
        registry.register("test_only_linear")(lambda: nn.Identity())
