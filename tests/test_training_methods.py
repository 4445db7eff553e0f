"""The training-method table: one Method record per name (loss, proposal mode, network family, actor)."""
from __future__ import annotations

import pytest
import torch

from ebm import losses
from ebm.boxes import xywh_to_rel
from ltr.actors import EBMActor, IoUNetActor, RegressionActor
from ltr.actors.bbreg import EBMBatch
from ltr.actors.methods import METHODS, Method, get_method
from ltr.data.processing import MODES
from ltr.models import registry
from ltr.train_settings.bbreg.common import BBRegConfig, cpu_config, paper_config

EXPECTED = {  # name: (proposal mode, family, actor)
    "ml-is": ("ebm", "atom", EBMActor), "kl-is": ("ebm", "atom", EBMActor), "nce": ("ebm", "atom", EBMActor),
    "nce+": ("nce+", "atom", EBMActor), "iou": ("iou", "atom", IoUNetActor),
    "gauss": ("regression", "regression", RegressionActor), "laplace": ("regression", "regression", RegressionActor),
    "l2": ("regression", "regression", RegressionActor), "l1": ("regression", "regression", RegressionActor),
}


def test_one_record_per_name_with_its_mode_family_and_actor():
    assert set(METHODS) == set(EXPECTED)
    for name, (mode, family, actor) in EXPECTED.items():
        method = METHODS[name]
        assert method.name == name and (method.proposal_mode, method.family, method.actor) == (mode, family, actor)
        assert method.proposal_mode in MODES
        assert method.network_name("tiny") in registry.names()
        assert get_method(method) is method


def test_settings_take_the_network_from_the_method():
    assert paper_config("gauss", "x").network == "regression_resnet18"
    assert paper_config("ml-is", "x").network == "atom_resnet18"
    assert cpu_config("l1", "x").network == "regression_efficientnet_lite0"
    assert cpu_config("iou", "x").network == "atom_efficientnet_lite0"


def test_unknown_method_names_the_closest():
    with pytest.raises(ValueError, match="unknown method 'ml_is'.*did you mean 'ml-is'"):
        BBRegConfig(description="x", method="ml_is")


def _batch(generator: torch.Generator) -> EBMBatch:
    p, m = 3, 5
    gt = torch.tensor([[10.0, 12.0, 20.0, 30.0]]).repeat(p, 1)
    proposals = gt[:, None, :] + torch.randn(p, m + 1, 4, generator=generator)
    return EBMBatch(true_score=torch.randn(p, generator=generator),
                    sample_scores=torch.randn(p, m, generator=generator),
                    log_q=torch.randn(p, m + 1, generator=generator), proposals=proposals, gt=gt)


def test_method_losses_are_the_ebm_losses():
    b = _batch(torch.Generator().manual_seed(0))
    ml_is = losses.ml_is_loss(b.true_score, b.sample_scores, b.log_q[:, 1:])
    torch.testing.assert_close(METHODS["ml-is"].loss(b), ml_is)
    nce = losses.nce_loss(b.true_score, b.log_q[:, 0], b.sample_scores, b.log_q[:, 1:])
    torch.testing.assert_close(METHODS["nce"].loss(b), nce)
    torch.testing.assert_close(METHODS["nce+"].loss(b), nce)
    ref_wh = b.gt[:, 2:]
    label = losses.gaussian_label_log_density(xywh_to_rel(b.proposals[:, 1:], ref_wh[:, None]),
                                              xywh_to_rel(b.gt, ref_wh), 0.05)
    torch.testing.assert_close(METHODS["kl-is"].loss(b), losses.kl_is_loss(b.sample_scores, b.log_q[:, 1:], label))
    mean, log_var, target = torch.randn(3, 6, 4).unbind(0)
    gauss, laplace = losses.gaussian_nll(mean, log_var, target), losses.laplace_nll(mean, log_var, target)
    torch.testing.assert_close(METHODS["gauss"].loss(mean, log_var, target), gauss)
    torch.testing.assert_close(METHODS["laplace"].loss(mean, log_var, target), laplace)
    torch.testing.assert_close(METHODS["l2"].loss(mean, log_var, target), losses.l2_regression_loss(mean, target))
    torch.testing.assert_close(METHODS["l1"].loss(mean, log_var, target), losses.l1_regression_loss(mean, target))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_make_actor_hands_the_loss_to_the_actor(name):
    method = METHODS[name]
    net = torch.nn.Linear(1, 1)
    actor = method.make_actor(net)
    assert isinstance(actor, method.actor) and actor.objective is method.loss and actor.name == name


def test_a_new_method_is_one_record():
    custom = Method("ml-is-x2", lambda batch: 2 * METHODS["ml-is"].loss(batch), "ebm", "atom", EBMActor)
    actor = custom.make_actor(torch.nn.Linear(1, 1))
    b = _batch(torch.Generator().manual_seed(1))
    torch.testing.assert_close(actor.objective(b), 2 * METHODS["ml-is"].loss(b))
