"""Multi-label classification (tasks/types/multi_label.py): its target, loss, metrics,
predictions, soft targets, and the exports' handling of it."""

import json
from pathlib import Path

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.data import Batch, Vocabulary
from allennlp.models import Model

from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.data.dataset_readers import MultiTaskReader
from mtdnn_allennlp.distillation.soft_targets import (
    average_records,
    check_record,
    records_from_logits,
    target_tensor,
)
from mtdnn_allennlp.losses import TaskLoss
from mtdnn_allennlp.tasks import TaskDefinition

ROOT = Path(__file__).resolve().parents[2]
TINY_BERT = str(ROOT / "fixtures" / "tiny_bert")
TOPICS = ROOT / "fixtures" / "tutorial" / "topics"
LABELS = ["sports", "politics", "technology", "health"]


def _spec(**overrides):
    spec = {
        "name": "topics",
        "task_type": {"type": "multi_label_classification", "threshold": 0.5},
        "data_format": "premise_only",
        "labels": LABELS,
        "reader": {"type": "mtdnn_jsonl", "field_map": {"text": "premise"}},
    }
    spec.update(overrides)
    return spec


def _task(**overrides) -> TaskDefinition:
    return TaskDefinition.from_params(Params(_spec(**overrides)))


def _model(**overrides):
    params = {
        "type": "mtdnn",
        "encoder": {"type": "transformer", "model_name": TINY_BERT},
        "tasks": [_spec(**overrides)],
    }
    return Model.from_params(vocab=Vocabulary(), params=Params(params))


def test_the_type_sets_its_defaults_and_its_threshold():
    task = _task()
    assert task.task_type == "multi_label_classification"
    assert (task.loss, task.kd_loss, task.adv_loss) == (
        "binary_cross_entropy",
        "binary_kl_divergence",
        "binary_symmetric_kl",
    )
    assert task.metrics == ["micro_f1", "macro_f1"]
    assert task.head["type"] == "classification"
    assert task.kind.threshold == 0.5
    assert _task(task_type="multi_label_classification").kind.threshold == 0.5
    assert (
        _task(task_type={"type": "multi_label_classification", "threshold": 0.3}).kind.threshold
        == 0.3
    )


@pytest.mark.parametrize("threshold", [0.0, 1.0, 1.5])
def test_a_threshold_outside_0_1_is_refused(threshold):
    with pytest.raises(ConfigurationError, match="threshold is a probability"):
        _task(task_type={"type": "multi_label_classification", "threshold": threshold})


def test_labels_are_required_and_a_misspelt_type_is_named():
    with pytest.raises(ConfigurationError, match="needs its label set"):
        _task(labels=None)
    with pytest.raises(ConfigurationError, match="Did you mean 'multi_label_classification'"):
        _task(task_type="multi_label_clasification")


def test_the_reader_makes_a_0_1_vector_of_the_listed_labels():
    reader = MultiTaskReader([_task()], encoder=TINY_BERT)
    instances = list(reader.read({"topics": str(TOPICS / "train.jsonl")}))
    assert len(instances) == 40
    by_id = {each["metadata"].metadata["id"]: each for each in instances}
    assert by_id["train-4"]["label"].tensor.tolist() == [1.0, 1.0, 0.0, 0.0]
    assert by_id["train-26"]["label"].tensor.tolist() == [0.0, 0.0, 0.0, 0.0]  # no topic
    assert by_id["train-0"]["metadata"].metadata["premise"].startswith("The striker")


@pytest.mark.parametrize(
    "label, problem",
    [("sports", "is not a list of labels"), (["sports", "weather"], "unknown label 'weather'")],
)
def test_a_bad_label_is_a_located_data_error(tmp_path, label, problem):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"text": "A text.", "label": label}) + "\n")
    reader = MultiTaskReader([_task()], encoder=TINY_BERT)
    with pytest.raises(DataError, match=problem) as error:
        list(reader.read({"topics": str(path)}))
    assert error.value.line == 1 and error.value.field == "label"


def test_the_loss_is_binary_cross_entropy_of_the_sigmoids():
    logits = torch.tensor([[2.0, -1.0, 0.0, 0.5]])
    gold = torch.tensor([[1.0, 0.0, 0.0, 1.0]])
    expected = torch.nn.functional.binary_cross_entropy(torch.sigmoid(logits), gold)
    loss = TaskLoss.by_name("binary_cross_entropy")()(logits, gold)
    assert loss.item() == pytest.approx(expected.item(), abs=1e-6)


def test_the_kd_and_adversarial_divergences_are_zero_only_for_equal_logits():
    logits = torch.tensor([[2.0, -1.0, 0.0, 0.5]])
    other = torch.tensor([[-2.0, 1.0, 0.0, 0.5]])
    for name in ("binary_kl_divergence", "binary_symmetric_kl"):
        divergence = TaskLoss.by_name(name)()
        assert divergence(logits, logits).item() == pytest.approx(0.0, abs=1e-7)
        assert divergence(logits, other).item() > 0.1
    # KL's gradient is binary cross-entropy's against the teachers' probabilities.
    student = torch.zeros(1, 4, requires_grad=True)
    TaskLoss.by_name("binary_kl_divergence")()(student, logits).backward()
    expected = (torch.sigmoid(student.detach()) - torch.sigmoid(logits)) / 4
    assert torch.allclose(student.grad, expected, atol=1e-6)


def test_metrics_threshold_the_probabilities_and_give_micro_macro_and_per_label_f1():
    model = _model(task_type={"type": "multi_label_classification", "threshold": 0.6})
    kind = model.tasks["topics"].kind
    metrics = model.metrics["topics"]
    # sigmoid(0.2) = 0.55 is below the threshold 0.6: not predicted.
    logits = torch.tensor([[3.0, 0.2, -3.0, -3.0], [-3.0, 3.0, 3.0, -3.0]])
    gold = torch.tensor([[1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 1.0]])
    kind.update_metrics(model.tasks["topics"], None, metrics, logits, gold, [])
    values = metrics.compute()
    # sports: 1 tp; politics: 1 tp, 1 fn; technology: 1 fp; health: 1 fn.
    assert values["f1_sports"] == 1.0
    assert values["f1_politics"] == pytest.approx(2 / 3)
    assert values["f1_technology"] == 0.0 and values["f1_health"] == 0.0
    assert values["micro_f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 2))
    assert values["macro_f1"] == pytest.approx((1 + 2 / 3) / 4)


def test_the_model_trains_on_a_batch_and_predicts_labels_with_probabilities():
    torch.manual_seed(0)
    model = _model()
    reader = MultiTaskReader([_task()], encoder=TINY_BERT)
    instances = list(reader.read({"topics": str(TOPICS / "dev.jsonl")}))[:4]
    batch = Batch(instances)
    batch.index_instances(model.vocab)
    output = model(**batch.as_tensor_dict())
    assert output["loss"].item() > 0
    output["loss"].backward()
    model.eval()
    with torch.no_grad():
        evaluated = model(**batch.as_tensor_dict())
    probabilities = torch.sigmoid(evaluated["logits"])  # without dropout, as predicted
    readable = model.make_output_human_readable(evaluated)
    for row, (labels, scores) in enumerate(
        zip(readable["labels"], readable["probabilities"], strict=True)
    ):
        assert list(scores) == LABELS
        assert labels == [name for name in LABELS if scores[name] >= 0.5]
        assert [scores[name] for name in LABELS] == pytest.approx(
            probabilities[row].tolist(), abs=1e-5
        )
    assert readable["id"] == ["dev-0", "dev-1", "dev-2", "dev-3"]


def test_soft_targets_are_per_label_probabilities_averaged_per_label():
    task = _task()
    logits = torch.tensor([[2.0, -1.0, 0.0, 0.5], [0.0, 0.0, 0.0, 0.0]])
    records = records_from_logits(task, logits, [{"id": 1}, {"id": 2}])
    assert records[0]["probabilities"] == pytest.approx(torch.sigmoid(logits[0]).tolist())
    assert records[1] == {"task": "topics", "id": "2", "probabilities": [0.5] * 4}
    for record in records:
        check_record(task, record, "f.jsonl")
    other = {"task": "topics", "id": "2", "probabilities": [0.1, 0.3, 0.5, 0.7]}
    averaged = average_records(
        [{("topics", "2"): records[1]}, {("topics", "2"): other}], ["a", "b"]
    )
    assert averaged[("topics", "2")]["probabilities"] == pytest.approx([0.3, 0.4, 0.5, 0.6])
    # The student's target: the log-odds, which a sigmoid turns back into the probabilities.
    target, mask = target_tensor(task, records[0], {}, 8, "f.jsonl")
    assert mask is None
    assert torch.allclose(torch.sigmoid(target), torch.sigmoid(logits[0]), atol=1e-6)


@pytest.mark.parametrize(
    "probabilities, problem",
    [([0.1, 0.2], "2 probabilities where task 'topics' has 4"), ([0.1, 0.2, 1.5, 0.0], "above 1")],
)
def test_a_soft_target_that_does_not_fit_is_refused(probabilities, problem):
    record = {"task": "topics", "id": "3", "probabilities": probabilities, "_line": 3}
    with pytest.raises(DataError, match=problem):
        check_record(_task(), record, "f.jsonl")


def test_the_hugging_face_export_refuses_multi_label_with_the_reason():
    from mtdnn_allennlp.hub.export import mapping_for

    with pytest.raises(ConfigurationError, match="cannot be exported.*single-label classifiers"):
        mapping_for(_model(), "topics")


def test_the_onnx_export_decodes_labels_like_the_model(tmp_path):
    import importlib.util

    from mtdnn_allennlp.distillation.export import export_model

    torch.manual_seed(0)
    model = _model(task_type={"type": "multi_label_classification", "threshold": 0.45}).eval()
    reader = MultiTaskReader([_task()], encoder=TINY_BERT)
    folder = export_model(model, reader, str(tmp_path / "export"))
    meta = json.loads((folder / "labels.json").read_text())["tasks"]["topics"]
    assert meta["task_type"] == "multi_label_classification" and meta["threshold"] == 0.45
    spec = importlib.util.spec_from_file_location("exported", folder / "predict_onnx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    examples = [
        {"id": 1, "premise": "The striker broke his leg."},
        {"id": 2, "premise": "Parliament voted on the internet law."},
    ]
    exported = module.OnnxPredictor(str(folder)).predict(examples)
    instances = [reader.text_to_instance(task="topics", **each) for each in examples]
    batch = Batch(instances)
    batch.index_instances(model.vocab)
    with torch.no_grad():
        expected = model.make_output_human_readable(model(**batch.as_tensor_dict()))
    for row, result in enumerate(exported):
        assert result["id"] == examples[row]["id"] and result["task"] == "topics"
        assert result["labels"] == expected["labels"][row]
        for name in LABELS:
            assert result["probabilities"][name] == pytest.approx(
                expected["probabilities"][row][name], abs=1e-4
            )
