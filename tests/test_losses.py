"""Every registered loss against a hand computation in plain Python/numpy on small tensors."""

import math

import numpy
import pytest
import torch
from allennlp.common import Params
from allennlp.common.util import import_module_and_submodules

from mtdnn_allennlp.losses import IGNORE_INDEX, TaskLoss
from mtdnn_allennlp.tasks import TaskDefinition

import_module_and_submodules("mtdnn_allennlp")

# Two sets of logits over three classes, at four positions (batch of 2, sequence of 2).
INPUT = [[[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]], [[2.0, 2.0, 2.0], [-0.5, 1.5, 0.0]]]
TARGET = [[[0.3, 1.0, -2.0], [1.0, 0.0, 1.0]], [[4.0, 0.0, 1.0], [0.2, 0.1, 0.3]]]
MASK = [[1, 1], [1, 0]]
DIVERGENCES = ["kl_divergence", "symmetric_kl", "js_divergence", "hellinger"]


def loss(name: str, **params) -> TaskLoss:
    return TaskLoss.from_params(Params({"type": name, **params}))


def softmax(logits) -> numpy.ndarray:
    exp = numpy.exp(numpy.asarray(logits, dtype=numpy.float64))
    return exp / exp.sum(-1, keepdims=True)


def kl(q: numpy.ndarray, p: numpy.ndarray) -> numpy.ndarray:
    """KL(q || p) per position."""
    return (q * numpy.log(q / p)).sum(-1)


def hand(name: str, input_logits, target_logits, temperature: float = 1.0) -> numpy.ndarray:
    """Per-position value of a divergence."""
    p = softmax(numpy.asarray(input_logits) / temperature)
    q = softmax(numpy.asarray(target_logits) / temperature)
    if name == "kl_divergence":
        return kl(q, p) * temperature**2
    if name == "symmetric_kl":
        return kl(q, p) + kl(p, q)
    if name == "js_divergence":
        m = (p + q) / 2
        return (kl(p, m) + kl(q, m)) / 2
    if name == "hellinger":
        return ((numpy.sqrt(p) - numpy.sqrt(q)) ** 2).sum(-1) / 2
    raise ValueError(name)


def value(name: str, input_, target, mask=None, **params) -> float:
    tensor_mask = None if mask is None else torch.tensor(mask)
    result = loss(name, **params)(torch.tensor(input_), torch.tensor(target), tensor_mask)
    assert result.dim() == 0
    return float(result)


def test_registered_names():
    names = set(TaskLoss.list_available())
    expected = {"cross_entropy", "sequence_cross_entropy", "mse", *DIVERGENCES}
    assert expected <= names


def test_cross_entropy():
    logits = [[1.0, 2.0, 3.0], [1.0, 0.0, -1.0], [0.5, 0.5, 0.5]]
    gold = [2, 0, 1]
    per_example = [
        math.log(sum(math.exp(x) for x in row)) - row[g]
        for row, g in zip(logits, gold, strict=True)
    ]
    expected = sum(per_example) / 3
    assert value("cross_entropy", logits, gold) == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx((0.40760596 + 0.40760596 + math.log(3)) / 3, rel=1e-6)
    # float targets (as a batch may carry them) are class indices as well
    assert value("cross_entropy", logits, [2.0, 0.0, 1.0]) == pytest.approx(expected, rel=1e-6)


def test_sequence_cross_entropy_ignores_minus_100():
    logits = [[[2.0, 0.0], [0.0, 0.0], [9.0, -9.0]], [[1.0, 3.0], [5.0, 5.0], [0.0, 1.0]]]
    tags = [[0, IGNORE_INDEX, IGNORE_INDEX], [1, 0, IGNORE_INDEX]]
    kept = [(logits[0][0], 0), (logits[1][0], 1), (logits[1][1], 0)]
    expected = sum(math.log(sum(math.exp(x) for x in row)) - row[t] for row, t in kept) / 3
    assert value("sequence_cross_entropy", logits, tags) == pytest.approx(expected, rel=1e-6)

    # a mask removes positions as well (here the last kept one)
    mask = [[1, 1, 1], [1, 0, 0]]
    expected_masked = sum(math.log(sum(math.exp(x) for x in r)) - r[t] for r, t in kept[:2]) / 2
    result = value("sequence_cross_entropy", logits, tags, mask)
    assert result == pytest.approx(expected_masked, rel=1e-6)
    assert expected_masked != pytest.approx(expected)


def test_mse():
    scores, gold = [1.0, 2.0, 3.0, 0.0], [1.5, 2.0, 5.0, 4.0]
    assert value("mse", scores, gold) == pytest.approx((0.25 + 0 + 4 + 16) / 4)
    # targets shaped (batch, 1) or (batch,) alike
    assert value("mse", [[1.0], [2.0]], [3.0, 2.0]) == pytest.approx(2.0)
    assert value("mse", scores, gold, [1, 1, 1, 0]) == pytest.approx((0.25 + 0 + 4) / 3)


@pytest.mark.parametrize("name", DIVERGENCES)
def test_divergence_matches_hand_computation(name):
    expected = hand(name, INPUT, TARGET).mean()
    assert value(name, INPUT, TARGET) == pytest.approx(expected, rel=1e-5)
    assert expected > 0.01


@pytest.mark.parametrize("name", DIVERGENCES)
def test_divergence_excludes_masked_positions(name):
    per_position = hand(name, INPUT, TARGET)
    keep = numpy.asarray(MASK, dtype=bool)
    expected = per_position[keep].mean()
    assert expected != pytest.approx(per_position.mean(), rel=1e-3)
    assert value(name, INPUT, TARGET, MASK) == pytest.approx(expected, rel=1e-5)
    # whatever the masked position holds, the value stays the same
    changed = [row[:] for row in TARGET]
    changed[1] = [changed[1][0], [50.0, -50.0, 0.0]]
    assert value(name, INPUT, changed, MASK) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("name", DIVERGENCES)
def test_divergence_of_identical_inputs_is_zero(name):
    assert value(name, INPUT, INPUT) == pytest.approx(0.0, abs=1e-6)
    # shifting logits by a constant leaves the distribution unchanged
    shifted = (numpy.asarray(INPUT) + 3.0).tolist()
    assert value(name, INPUT, shifted) == pytest.approx(0.0, abs=1e-5)


@pytest.mark.parametrize("name", DIVERGENCES)
def test_divergence_on_two_dimensional_logits(name):
    input_, target = INPUT[0], TARGET[1]  # (batch, n_class), as for classification
    expected = hand(name, input_, target).mean()
    assert value(name, input_, target) == pytest.approx(expected, rel=1e-5)


def test_kl_divergence_direction():
    p, q = softmax(INPUT), softmax(TARGET)
    forward = kl(q, p).mean()  # KL(target || input)
    assert value("kl_divergence", INPUT, TARGET) == pytest.approx(forward, rel=1e-5)
    assert value("kl_divergence", INPUT, TARGET) != pytest.approx(kl(p, q).mean(), rel=1e-3)


@pytest.mark.parametrize("temperature", [2.0, 0.5])
def test_kl_divergence_temperature_scaling(temperature):
    softened = softmax(numpy.asarray(TARGET) / temperature)
    student = softmax(numpy.asarray(INPUT) / temperature)
    expected = kl(softened, student).mean() * temperature * temperature
    result = value("kl_divergence", INPUT, TARGET, temperature=temperature)
    assert result == pytest.approx(expected, rel=1e-5)
    assert result != pytest.approx(value("kl_divergence", INPUT, TARGET), rel=1e-3)
    masked = value("kl_divergence", INPUT, TARGET, MASK, temperature=temperature)
    keep = numpy.asarray(MASK, dtype=bool)
    expected_masked = kl(softened, student)[keep].mean() * temperature**2
    assert masked == pytest.approx(expected_masked, rel=1e-5)


def test_symmetric_kl_is_symmetric_and_js_is_bounded():
    assert value("symmetric_kl", INPUT, TARGET) == pytest.approx(
        value("symmetric_kl", TARGET, INPUT), rel=1e-6
    )
    far = value("js_divergence", [[30.0, -30.0]], [[-30.0, 30.0]])
    assert far == pytest.approx(math.log(2), rel=1e-4)  # the bound for disjoint supports
    assert value("hellinger", [[30.0, -30.0]], [[-30.0, 30.0]]) == pytest.approx(1.0, rel=1e-4)


def test_gradients_flow_to_the_input():
    for name in DIVERGENCES:
        logits = torch.tensor(INPUT, requires_grad=True)
        loss(name)(logits, torch.tensor(TARGET), torch.tensor(MASK)).backward()
        grad = logits.grad
        assert grad is not None and grad[0].abs().sum() > 0
        assert grad[1, 1].abs().sum() == 0  # the masked position gets none


def test_task_definition_builds_its_losses():
    definition = TaskDefinition(
        name="t",
        task_type="classification",
        data_format="premise_only",
        reader={"type": "glue_tsv", "columns": {}},
        labels=["a", "b", "c"],
        kd_loss={"type": "kl_divergence", "temperature": 3.0},
        adv_loss="hellinger",
    )
    assert type(definition.build_loss()).__name__ == "CrossEntropyLoss"
    kd = definition.build_loss("kd_loss")
    assert kd.temperature == 3.0
    assert float(kd(torch.tensor(INPUT), torch.tensor(TARGET))) == pytest.approx(
        hand("kl_divergence", INPUT, TARGET, temperature=3.0).mean(), rel=1e-5
    )
    adv = definition.build_loss("adv_loss")
    assert float(adv(torch.tensor(INPUT), torch.tensor(TARGET))) == pytest.approx(
        hand("hellinger", INPUT, TARGET).mean(), rel=1e-5
    )
