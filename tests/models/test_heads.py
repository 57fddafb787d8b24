"""Task heads: the classification pooler, the ranking head and the SAN head, alone and in the
model with the tiny encoder."""

import math
from pathlib import Path

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.common.util import import_module_and_submodules
from allennlp.data import Batch, Vocabulary

from mtdnn_allennlp.data.dataset_readers import MultiTaskReader
from mtdnn_allennlp.losses import MASKED_SCORE
from mtdnn_allennlp.models.heads import ClassificationHead, RankingHead, SanHead, TaskHead
from mtdnn_allennlp.models.multitask_model import MultiTaskModel
from mtdnn_allennlp.modules.shared_encoder import SharedEncoder
from mtdnn_allennlp.tasks import TaskDefinition

import_module_and_submodules("mtdnn_allennlp")

TINY_BERT = str(Path(__file__).resolve().parents[2] / "fixtures" / "tiny_bert")
HIDDEN = 8


@pytest.fixture(autouse=True)
def one_thread():
    # Tiny tensors: a pool of threads only adds waiting, a lot of it on a busy machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def define(**spec) -> TaskDefinition:
    spec.setdefault("name", "demo")
    spec.setdefault("reader", {"type": "jsonl"})
    return TaskDefinition.from_params(Params(spec))


def classification_task(**spec) -> TaskDefinition:
    return define(
        task_type="classification",
        data_format="premise_and_one_hypothesis",
        labels=["a", "b", "c"],
        **spec,
    )


def ranking_task() -> TaskDefinition:
    return define(task_type="ranking", data_format="premise_and_multi_hypothesis")


def head(task: TaskDefinition, **params) -> TaskHead:
    spec = {**task.head, **params}
    return TaskHead.from_params(Params(spec), input_dim=HIDDEN, task=task)


# --- classification pooler --------------------------------------------------------------------


@pytest.mark.parametrize(
    "activation, expected",
    [("tanh", torch.tanh), ("relu", torch.relu), ("linear", lambda x: x)],
)
def test_classification_pooler_applies_its_activation(activation, expected):
    task = classification_task()
    classifier = head(task, pooler_activation=activation, dropout=0.0).eval()
    assert isinstance(classifier, ClassificationHead)
    encoded = torch.randn(4, 5, HIDDEN) * 3
    with torch.no_grad():
        pooled = expected(classifier.pooler(encoded[:, 0]))
        logits = classifier(encoded, torch.ones(4, 5, dtype=torch.bool))
    assert torch.allclose(logits, classifier.output(pooled), atol=1e-6)


def test_tanh_pooler_is_not_the_identity():
    # The reference's bug: its activation was always the identity. Large pre-activations show
    # the difference: tanh bounds the pooled vector to (-1, 1).
    classifier = head(classification_task(), dropout=0.0).eval()
    with torch.no_grad():
        classifier.pooler.weight.copy_(torch.eye(HIDDEN) * 10)
        classifier.pooler.bias.zero_()
        encoded = torch.full((1, 2, HIDDEN), 5.0)
        identity = classifier.output(classifier.pooler(encoded[:, 0]))
        logits = classifier(encoded, torch.ones(1, 2, dtype=torch.bool))
        bounded = classifier.output(torch.ones(1, HIDDEN) * math.tanh(50.0))
    assert torch.allclose(logits, bounded, atol=1e-5)
    assert not torch.allclose(logits, identity, atol=1e-2)


# --- ranking head ------------------------------------------------------------------------------


def test_ranking_head_scores_each_candidate_and_masks_padding():
    ranker = head(ranking_task(), dropout=0.0).eval()
    assert isinstance(ranker, RankingHead)
    encoded = torch.randn(2, 3, 4, HIDDEN)
    mask = torch.ones(2, 3, 4, dtype=torch.bool)
    mask[1, 2] = False  # the second example has two candidates only
    with torch.no_grad():
        scores = ranker(encoded, mask)
        # Each candidate scored alone, from its first vector, with the same head.
        one = ranker.output(ranker.activation(ranker.pooler(encoded[0, 1, 0])))
    assert scores.shape == (2, 3)
    assert scores[0, 1].item() == pytest.approx(one.item(), abs=1e-6)
    assert scores[1, 2].item() == MASKED_SCORE
    probabilities = scores.softmax(-1)
    assert probabilities[1, 2].item() == 0.0
    assert probabilities.sum(-1).tolist() == pytest.approx([1.0, 1.0])


def test_ranking_head_rejects_inputs_without_a_candidate_dimension():
    ranker = head(ranking_task())
    with pytest.raises(ValueError, match="premise_and_multi_hypothesis"):
        ranker(torch.randn(2, 4, HIDDEN), torch.ones(2, 4, dtype=torch.bool))


def test_ranking_task_type_defaults():
    task = ranking_task()
    assert (task.loss, task.head, task.metrics) == (
        "ranking_cross_entropy",
        {"type": "ranking"},
        ["accuracy"],
    )
    with pytest.raises(ConfigurationError, match="does not fit task_type 'ranking'"):
        define(task_type="ranking", data_format="premise_and_one_hypothesis")
    with pytest.raises(ConfigurationError, match="does not fit task_type 'classification'"):
        define(task_type="classification", data_format="premise_and_multi_hypothesis", labels=["a"])


# --- SAN head ----------------------------------------------------------------------------------


def san_inputs(batch: int = 3, length: int = 7):
    torch.manual_seed(0)
    encoded = torch.randn(batch, length, HIDDEN)
    mask = torch.ones(batch, length, dtype=torch.bool)
    mask[0, 5:] = False
    type_ids = torch.zeros(batch, length, dtype=torch.long)
    type_ids[:, 4:] = 1
    type_ids[0, 5:] = 0  # padding
    return encoded, mask, type_ids


def san(**params) -> SanHead:
    module = head(classification_task(), type="san", **params)
    assert isinstance(module, SanHead)
    return module


def test_san_output_is_log_of_averaged_step_probabilities():
    module = san(num_turns=4).eval()
    encoded, mask, type_ids = san_inputs()
    with torch.no_grad():
        steps = module.step_probabilities(encoded, mask, type_ids)
        logits = module(encoded, mask, type_ids)
    assert steps.shape == (3, 4, 3)
    assert logits.shape == (3, 3)
    assert torch.allclose(logits.exp(), steps.mean(1), atol=1e-6)
    assert torch.allclose(logits.exp().sum(-1), torch.ones(3), atol=1e-5)


def test_san_eval_is_deterministic_and_training_drops_steps():
    module = san(num_turns=5, step_dropout=0.5, dropout=0.0)
    encoded, mask, type_ids = san_inputs()
    module.eval()
    with torch.no_grad():
        first = module(encoded, mask, type_ids)
        second = module(encoded, mask, type_ids)
    assert torch.equal(first, second)
    assert module.step_weights(3, torch.device("cpu")).eq(1).all()

    module.train()
    torch.manual_seed(1)
    weights = torch.stack([module.step_weights(3, torch.device("cpu")) for _ in range(200)])
    assert weights.sum(-1).min() >= 1  # never every step dropped
    assert 0.35 < weights.mean().item() < 0.65  # about half the steps are kept
    assert (weights == 0).any()
    with torch.no_grad():
        outputs = {tuple(module(encoded, mask, type_ids).flatten().tolist()) for _ in range(10)}
    assert len(outputs) > 1  # with dropout 0 elsewhere, only the step dropout varies


def test_san_attends_over_the_premise_and_summarises_the_hypothesis():
    module = san(num_turns=2, dropout=0.0).eval()
    encoded, mask, type_ids = san_inputs()
    premise, hypothesis = module.memories(mask, type_ids)
    assert premise[0].tolist() == [True] * 4 + [False] * 3
    assert hypothesis[0].tolist() == [False] * 4 + [True] + [False] * 2
    # Changing a padding vector changes nothing; changing a hypothesis vector does.
    with torch.no_grad():
        base = module(encoded, mask, type_ids)
        padded = encoded.clone()
        padded[0, 6] += 100
        assert torch.allclose(module(padded, mask, type_ids)[0], base[0], atol=1e-6)
        changed = encoded.clone()
        changed[0, 4] += 1
        assert not torch.allclose(module(changed, mask, type_ids)[0], base[0], atol=1e-6)


def test_san_without_a_hypothesis_uses_the_whole_input():
    module = san()
    mask = torch.tensor([[True, True, True, False]])
    premise, hypothesis = module.memories(mask, torch.zeros(1, 4, dtype=torch.long))
    assert premise.tolist() == hypothesis.tolist() == mask.tolist()
    premise, hypothesis = module.memories(mask, None)
    assert premise.tolist() == hypothesis.tolist() == mask.tolist()


def test_san_gradients_reach_every_parameter_and_the_input():
    module = san(num_turns=3).train()
    encoded, mask, type_ids = san_inputs()
    encoded.requires_grad_(True)
    logits = module(encoded, mask, type_ids)
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2])).backward()
    for name, parameter in module.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
    assert encoded.grad.abs().sum() > 0


def test_san_configuration_errors():
    with pytest.raises(ConfigurationError, match="classification tasks only"):
        head(define(task_type="regression", data_format="premise_only"), type="san")
    with pytest.raises(ConfigurationError, match="num_turns"):
        san(num_turns=0)
    with pytest.raises(ConfigurationError, match="step_dropout"):
        san(step_dropout=1.0)


# --- in the model, with the tiny encoder -------------------------------------------------------


def tiny_model(*tasks: TaskDefinition) -> MultiTaskModel:
    encoder = SharedEncoder.from_params(Params({"type": "transformer", "model_name": TINY_BERT}))
    return MultiTaskModel(Vocabulary.empty(), encoder, list(tasks))


def tensors(reader: MultiTaskReader, examples):
    instances = [reader.text_to_instance(**example) for example in examples]
    batch = Batch(instances)
    batch.index_instances(Vocabulary.empty())
    return batch.as_tensor_dict()


def test_model_ranks_candidates_of_different_counts():
    task = ranking_task()
    model = tiny_model(task).eval()
    reader = MultiTaskReader([task], encoder=TINY_BERT)
    examples = [
        {"premise": "who won", "hypotheses": ["the red team won", "it rained"], "label": 0},
        {"premise": "where is it", "hypotheses": ["here", "in paris today", "no"], "label": 2},
    ]
    batch = tensors(reader, examples)
    assert batch["tokens"]["tokens"]["token_ids"].shape[:2] == (2, 3)
    output = model(**batch)
    logits = output["logits"]
    assert logits.shape == (2, 3)
    assert logits[0, 2].item() == MASKED_SCORE
    expected = torch.nn.functional.cross_entropy(logits.detach(), torch.tensor([0, 2]))
    assert output["loss"].item() == pytest.approx(expected.item(), abs=1e-5)
    metrics = model.get_metrics(reset=True)
    rows = zip(logits.tolist(), [0, 2], strict=True)
    ranks = [1 + sum(s > row[gold] for s in row) for row, gold in rows]
    assert metrics["demo_accuracy"] == pytest.approx(sum(rank == 1 for rank in ranks) / 2)

    # Each pair is scored as if encoded alone: padding candidates do not change the others.
    single = model(**tensors(reader, examples[:1]))["logits"]
    assert torch.allclose(single[0], logits[0, :2], atol=1e-5)

    readable = model.make_output_human_readable(model(**tensors(reader, examples)))
    assert readable["label"] == logits.argmax(-1).tolist()
    assert readable["hypothesis"] == [
        examples[i]["hypotheses"][readable["label"][i]] for i in range(2)
    ]
    assert [len(scores) for scores in readable["scores"]] == [2, 3]
    for scores in readable["scores"]:
        assert sum(scores) == pytest.approx(1.0, abs=1e-4)


def test_model_mrr_from_reciprocal_ranks():
    task = define(task_type="ranking", data_format="premise_and_multi_hypothesis", metrics=["mrr"])
    model = tiny_model(task)
    logits = torch.tensor([[0.1, 0.9, 0.5], [2.0, 1.0, MASKED_SCORE], [0.0, 0.3, 0.2]])
    model._update_metrics("demo", logits, torch.tensor([2, 0, 0]), [], 0.0)
    # Ranks of the right candidates: 2, 1, 3.
    assert model.get_metrics(reset=True)["demo_mrr"] == pytest.approx((1 / 2 + 1 + 1 / 3) / 3)


def test_model_passes_segments_to_the_san_head(monkeypatch):
    task = classification_task(head={"type": "san", "num_turns": 2})
    model = tiny_model(task).train()
    reader = MultiTaskReader([task], encoder=TINY_BERT)
    batch = tensors(
        reader,
        [
            {"premise": "a cat sat", "hypothesis": "a cat", "label": "a"},
            {"premise": "it rained all day long", "hypothesis": "dry", "label": "c"},
        ],
    )
    assert batch["tokens"]["tokens"]["type_ids"].max().item() == 1
    seen = {}
    original = SanHead.memories

    def spy(self, mask, type_ids):
        seen["type_ids"] = type_ids
        return original(self, mask, type_ids)

    monkeypatch.setattr(SanHead, "memories", spy)
    output = model(**batch)
    assert torch.equal(seen["type_ids"], batch["tokens"]["tokens"]["type_ids"])
    output["loss"].backward()
    assert model.heads["demo"].rnn.weight_hh.grad is not None


def test_san_head_learns_a_tiny_task():
    # Eight fixed inputs with their labels: a working head memorises them quickly.
    module = san(num_turns=3, step_dropout=0.1)
    encoded, mask, type_ids = san_inputs(batch=8)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    optimizer = torch.optim.Adam(module.parameters(), lr=0.01)
    losses = []
    for _ in range(60):
        module.train()
        loss = torch.nn.functional.cross_entropy(module(encoded, mask, type_ids), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 3
    module.eval()
    with torch.no_grad():
        assert module(encoded, mask, type_ids).argmax(-1).tolist() == labels.tolist()
