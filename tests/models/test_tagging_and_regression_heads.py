"""The tagging head's constrained decoding (valid BIO from any logits) and the regression
head's target_scale, checked against brute force and hand computations."""

import itertools

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.common.util import import_module_and_submodules

from mtdnn_allennlp.models.heads import TaskHead
from mtdnn_allennlp.models.heads.task_head import infer_tag_scheme
from mtdnn_allennlp.tasks import TaskDefinition
from tests.conftest import is_valid_bio

import_module_and_submodules("mtdnn_allennlp")

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def tagging_task(**head) -> TaskDefinition:
    spec = dict(name="ner", task_type="sequence_labeling", data_format="sequence")
    return TaskDefinition.from_params(
        Params(dict(spec, labels=TAGS, reader={"type": "jsonl"}, head=head))
    )


def tagging_head(**params):
    task = tagging_task(**params)
    return TaskHead.from_params(Params(dict(task.head)), input_dim=4, task=task)


def brute_force_best(word_scores):
    """The highest-scoring valid BIO sequence, by trying every sequence."""
    log_probs = word_scores.log_softmax(-1)
    best, best_score = None, -float("inf")
    for path in itertools.product(range(len(TAGS)), repeat=len(word_scores)):
        if not is_valid_bio([TAGS[i] for i in path]):
            continue
        score = sum(float(log_probs[position, i]) for position, i in enumerate(path))
        if score > best_score:
            best, best_score = [TAGS[i] for i in path], score
    return best


def test_constrained_decoding_is_the_best_valid_sequence():
    torch.manual_seed(0)
    head = tagging_head()
    assert head.tag_scheme == "BIO"
    invalid_argmax = 0
    for _ in range(30):
        logits = torch.randn(1, 6, len(TAGS)) * 3
        # Words start at pieces 1, 2 and 4; piece 3 continues word 2; the last word was cut off.
        metadata = [{"word_starts": [1, 2, 4, -1]}]
        (tags,) = head.word_tags(logits, metadata)
        assert tags[-1] == "O" and is_valid_bio(tags)
        assert tags[:3] == brute_force_best(logits[0, [1, 2, 4]])
        argmax = [TAGS[i] for i in logits[0, [1, 2, 4]].argmax(-1).tolist()]
        invalid_argmax += not is_valid_bio(argmax)
    assert invalid_argmax > 0  # the random logits did test the constraint


def test_unconstrained_decoding_is_the_argmax_per_word():
    torch.manual_seed(1)
    head = tagging_head(constrained_decoding=False)
    logits = torch.randn(2, 5, len(TAGS))
    metadata = [{"word_starts": [1, 3]}, {"word_starts": [1, 2, 3]}]
    expected = [
        [TAGS[i] for i in logits[0, [1, 3]].argmax(-1).tolist()],
        [TAGS[i] for i in logits[1, [1, 2, 3]].argmax(-1).tolist()],
    ]
    assert head.word_tags(logits, metadata) == expected


def test_tag_scheme_inference():
    assert infer_tag_scheme(TAGS) == "BIO"
    assert infer_tag_scheme(["NOUN", "VERB"]) is None  # POS tags: decoded without constraints
    spec = dict(name="pos", task_type="sequence_labeling", data_format="sequence")
    pos = TaskDefinition(**spec, labels=["NOUN", "VERB"], reader={"type": "jsonl"})
    head = TaskHead.from_params(Params(dict(pos.head)), input_dim=4, task=pos)
    assert head.transitions is None


def regression_task(**spec) -> TaskDefinition:
    base = dict(name="sick", task_type="regression", data_format="premise_and_one_hypothesis")
    return TaskDefinition.from_params(Params(dict(base, reader={"type": "jsonl"}, **spec)))


def test_target_scale_maps_the_head_output_and_scales_every_loss():
    torch.manual_seed(0)
    scaled = regression_task(target_scale=[1, 5])
    head = TaskHead.from_params(Params(dict(scaled.head)), input_dim=4, task=scaled).eval()
    encoded = torch.randn(3, 2, 4)
    raw = head.output(head.activation(head.pooler(encoded[:, 0]))).squeeze(-1)
    torch.testing.assert_close(head(encoded, None), 1 + 4 * raw)

    predictions, targets = torch.tensor([2.0, 5.0]), torch.tensor([1.0, 4.0])
    plain_mse = float(((predictions - targets) ** 2).mean())  # 1.0
    for which in ("loss", "kd_loss", "adv_loss"):
        assert float(scaled.build_loss(which)(predictions, targets)) == pytest.approx(
            plain_mse / 16
        )
        assert float(regression_task().build_loss(which)(predictions, targets)) == plain_mse


def test_target_scale_configuration_errors():
    with pytest.raises(ConfigurationError, match="high > low"):
        regression_task(target_scale=[5, 1])
    with pytest.raises(ConfigurationError, match="target_scale is for regression"):
        TaskDefinition(
            name="c",
            task_type="classification",
            data_format="premise_only",
            labels=["a", "b"],
            reader={"type": "jsonl"},
            target_scale=[0, 1],
        )
