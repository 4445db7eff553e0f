"""Typed tracker settings: built once from a parameter file; a misspelt key is an error naming it."""
from __future__ import annotations

import dataclasses
import importlib

import pytest
import torch

from pytracking.evaluation.tracker import Tracker
from pytracking.tracker.atom import get_tracker_class
from pytracking.tracker.atom.settings import PAPER_STEP_LENGTH, ATOMSettings, ClassifierSettings, RefinementSettings
from pytracking.utils.params import ParamSettings, TrackerParams, UnknownParameterError, param

PARAM_FILES = ("default", "fast", "gated", "gauss", "iou", "iou_atom", "multiscale", "nce", "t10",
               "no_refine", "poe")


@pytest.mark.parametrize("name", PARAM_FILES)
def test_every_shipped_parameter_file_reads(name):
    params = importlib.import_module(f"pytracking.parameter.atom.{name}").parameters()
    settings = ATOMSettings.from_params(params)
    assert isinstance(settings.refinement, RefinementSettings)
    assert isinstance(settings.classifier, ClassifierSettings)


def test_misspelt_key_names_the_key_and_the_closest_valid_one():
    params = Tracker("atom", "default").get_parameters(device="cpu")
    params.box_refinment_iter = 3          # typo of box_refinement_iter
    with pytest.raises(UnknownParameterError) as err:
        get_tracker_class()(params)
    message = str(err.value)
    assert "'box_refinment_iter'" in message and "'box_refinement_iter'" in message
    assert "pytracking/parameter/atom/default.py" in message


def test_unknown_key_without_a_close_match_lists_the_known_keys():
    with pytest.raises(UnknownParameterError, match="'zzz'.*known keys: .*image_sample_size"):
        ATOMSettings.from_params(TrackerParams(zzz=1))


def test_values_are_converted_and_defaults_come_from_one_place():
    settings = ATOMSettings.from_params(TrackerParams(box_refinement_step_length=[1, 2, 3, 4], image_sample_size="128",
                                                      scale_factors=[1]))
    assert settings.refinement.step_length == (1.0, 2.0, 3.0, 4.0)
    assert all(type(v) is float for v in settings.refinement.step_length)
    assert settings.image_sample_size == 128 and settings.scale_factors == (1.0,)
    # an unset key takes the dataclass default; the default is the paper's step x 2 at T = 3 (chosen on train-side data)
    assert ATOMSettings.from_params(TrackerParams()).refinement == RefinementSettings()
    assert RefinementSettings().step_length == pytest.approx((4e-4, 4e-4, 2e-3, 2e-3))
    assert RefinementSettings().num_iter == 3 and RefinementSettings().num_boxes == 10
    from pytracking.parameter.atom import t10
    paper_t = ATOMSettings.from_params(t10.parameters()).refinement    # the paper's T at its best step for T = 10
    assert paper_t.num_iter == 10 and paper_t.step_length == pytest.approx((5e-5, 5e-5, 2.5e-4, 2.5e-4))
    assert PAPER_STEP_LENGTH == (2e-4, 2e-4, 1e-3, 1e-3)
    with pytest.raises(ValueError, match="'image_sample_size'"):
        ATOMSettings.from_params(TrackerParams(image_sample_size="big"))
    # a tuple field with an empty default takes a list, but a single string is refused, not split into characters
    assert ATOMSettings.from_params(TrackerParams(expert_paths=["a.pth"])).network.expert_paths == ("a.pth",)
    with pytest.raises(ValueError, match="'expert_paths' = 'a.pth': expected a tuple"):
        ATOMSettings.from_params(TrackerParams(expert_paths="a.pth"))


def test_every_key_has_one_field_and_settings_are_frozen():
    keys = ATOMSettings.keys()
    assert keys["box_refinement_step_length"] == "refinement.step_length"
    assert keys["projection_dim"] == "classifier.projection_dim"
    assert keys["fold_batchnorm"] == "network.fold_batchnorm"
    with pytest.raises(dataclasses.FrozenInstanceError):
        RefinementSettings().num_iter = 3   # type: ignore[misc]


def test_adding_a_field_is_one_line():
    @dataclasses.dataclass(frozen=True)
    class Gate(ParamSettings):
        threshold: float = param(0.5, key="box_refinement_gate")

    assert Gate.from_params(TrackerParams(box_refinement_gate=1)).threshold == 1.0
    assert Gate.from_params(TrackerParams()).threshold == 0.5
    with pytest.raises(UnknownParameterError, match="did you mean 'box_refinement_gate'"):
        Gate.from_params(TrackerParams(box_refinement_gte=1))


def test_tracker_accepts_settings_directly():
    backbone = torch.nn.Conv2d(3, 8, 3, stride=16)
    settings = ATOMSettings(use_box_refinement=False, image_sample_size=64, device="cpu", classifier_layer="layer3",
                            network=dataclasses.replace(ATOMSettings().network,
                                                        backbone=lambda im: {"layer3": backbone(im)}),
                            classifier=ClassifierSettings(projection_dim=4, sample_memory_size=30))
    tracker = get_tracker_class()(settings)
    assert tracker.settings is settings and tracker.image_sample_size == 64
