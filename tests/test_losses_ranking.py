"""The ranking loss and the MRR metric against hand computations."""

import math

import pytest
import torch
from allennlp.common import Params
from allennlp.common.util import import_module_and_submodules

from mtdnn_allennlp.losses import MASKED_SCORE, TaskLoss
from mtdnn_allennlp.metrics import METRICS, TaskMetrics

import_module_and_submodules("mtdnn_allennlp")


def ranking_loss() -> TaskLoss:
    return TaskLoss.from_params(Params({"type": "ranking_cross_entropy"}))


def test_ranking_cross_entropy_by_hand():
    scores = torch.tensor([[1.0, 2.0, 0.0], [0.5, -0.5, 3.0]])
    target = torch.tensor([1, 0])
    # -log softmax of the right candidate, averaged over the two premises.
    first = -(2.0 - math.log(math.exp(1.0) + math.exp(2.0) + math.exp(0.0)))
    second = -(0.5 - math.log(math.exp(0.5) + math.exp(-0.5) + math.exp(3.0)))
    assert ranking_loss()(scores, target).item() == pytest.approx((first + second) / 2, abs=1e-6)


def test_ranking_cross_entropy_ignores_masked_candidates():
    scores = torch.tensor([[1.0, 2.0, 50.0]])  # the third is padding, whatever its score
    mask = torch.tensor([[True, True, False]])
    expected = -(1.0 - math.log(math.exp(1.0) + math.exp(2.0)))
    loss = ranking_loss()(scores, torch.tensor([0]), mask)
    assert loss.item() == pytest.approx(expected, abs=1e-6)
    # The ranking head's own padding score gives the same value without a mask.
    padded = torch.tensor([[1.0, 2.0, MASKED_SCORE]])
    assert ranking_loss()(padded, torch.tensor([0])).item() == pytest.approx(expected, abs=1e-6)


def test_ranking_cross_entropy_gradient_is_softmax_minus_one_hot():
    scores = torch.tensor([[0.2, -1.0, 0.7]], requires_grad=True)
    ranking_loss()(scores, torch.tensor([2])).backward()
    exp = [math.exp(v) for v in (0.2, -1.0, 0.7)]
    expected = [e / sum(exp) - (1.0 if i == 2 else 0.0) for i, e in enumerate(exp)]
    assert scores.grad[0].tolist() == pytest.approx(expected, abs=1e-6)


def test_divergences_stay_finite_on_masked_candidates():
    student = torch.tensor([[1.0, 0.0, MASKED_SCORE]])
    teacher = torch.tensor([[0.0, 2.0, MASKED_SCORE]])
    for name in ("kl_divergence", "symmetric_kl", "js_divergence", "hellinger"):
        value = TaskLoss.from_params(Params({"type": name}))(student, teacher)
        assert torch.isfinite(value), name


def test_mrr_is_the_mean_reciprocal_rank():
    metrics = TaskMetrics(["accuracy", "mrr"], n_class=1)
    metrics.add([0, 1, 2], [0, 2, 2], [1.0, 0.5, 1 / 3])
    values = metrics.compute()
    assert values["mrr"] == pytest.approx((1 + 0.5 + 1 / 3) / 3)
    assert values["accuracy"] == pytest.approx(2 / 3)
    assert "mrr" in METRICS
