"""TaskDefinition: per-type defaults, configuration errors, and the task library."""

import json
from functools import cache
from pathlib import Path
from typing import Any, Dict

import _jsonnet
import pytest
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.common.util import import_module_and_submodules
from allennlp.data import DatasetReader

from mtdnn_allennlp.data.dataset_readers import TaskReader
from mtdnn_allennlp.losses import TaskLoss
from mtdnn_allennlp.metrics import check_metric_names
from mtdnn_allennlp.tasks import TaskDefinition

import_module_and_submodules("mtdnn_allennlp")

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "training_config" / "tasks.libsonnet"
DATA = ROOT / "fixtures" / "data"
READER = {"type": "glue_tsv", "columns": {"premise": "sentence", "label": "label"}}


@cache
def _library_text() -> str:
    return _jsonnet.evaluate_file(str(LIBRARY), ext_vars={"MTDNN_DATA": str(DATA)})


def library() -> Dict[str, Dict[str, Any]]:
    return json.loads(_library_text())


def define(**spec: Any) -> TaskDefinition:
    spec.setdefault("name", "demo")
    spec.setdefault("reader", dict(READER))
    return TaskDefinition.from_params(Params(spec))


# --- defaults per task type -----------------------------------------------------------------


def test_classification_defaults():
    task = define(task_type="classification", data_format="premise_only", labels=["no", "yes"])
    assert (task.loss, task.kd_loss, task.adv_loss) == (
        "cross_entropy",
        "kl_divergence",
        "symmetric_kl",
    )
    assert task.metrics == ["accuracy"]
    assert task.head == {"type": "classification"}
    assert task.n_class == 2
    assert (task.dropout, task.loss_weight) == (0.1, 1.0)
    assert [task.label_index("no"), task.label_index("yes")] == [0, 1]
    with pytest.raises(KeyError):
        task.label_index("maybe")


def test_regression_defaults():
    task = define(task_type="regression", data_format="premise_and_one_hypothesis")
    assert (task.loss, task.kd_loss, task.adv_loss) == ("mse", "mse", "mse")
    assert task.metrics == ["pearson", "spearman"]
    assert task.head == {"type": "regression"}
    assert task.n_class == 1 and task.labels is None


def test_sequence_labeling_defaults():
    labels = ["O", "B-X", "I-X"]
    task = define(task_type="sequence_labeling", data_format="sequence", labels=labels)
    assert (task.loss, task.kd_loss, task.adv_loss) == (
        "sequence_cross_entropy",
        "kl_divergence",
        "symmetric_kl",
    )
    assert task.metrics == ["span_f1"]
    assert task.head == {"type": "sequence_labeling"}
    assert task.n_class == 3 and task.labels == labels


def test_explicit_values_override_defaults():
    task = define(
        task_type="classification",
        data_format="premise_and_one_hypothesis",
        labels=["a", "b", "c"],
        n_class=3,
        metrics=["accuracy", "f1"],
        loss="mse",
        kd_loss={"type": "kl_divergence", "temperature": 2.0},
        adv_loss="js_divergence",
        head={"hidden_dim": 16},
        dropout=0.3,
        loss_weight=0.5,
    )
    assert task.metrics == ["accuracy", "f1"]
    assert (task.loss, task.adv_loss) == ("mse", "js_divergence")
    assert task.kd_loss == {"type": "kl_divergence", "temperature": 2.0}
    assert task.head == {"hidden_dim": 16, "type": "classification"}
    assert (task.dropout, task.loss_weight) == (0.3, 0.5)
    assert define(
        task_type="classification",
        data_format="premise_only",
        labels=["a", "b"],
        head={"type": "ranking"},
    ).head == {"type": "ranking"}


def test_regression_n_class_and_repr():
    task = define(task_type="regression", data_format="premise_only", n_class=2)
    assert task.n_class == 2
    assert repr(task) == "TaskDefinition(demo, regression, premise_only)"


def test_the_definition_does_not_share_mutable_inputs():
    reader = dict(READER)
    labels = ["a", "b"]
    task = TaskDefinition("t", "classification", "premise_only", reader, labels=labels)
    reader["type"] = "jsonl"
    labels.append("c")
    assert task.reader["type"] == "glue_tsv" and task.labels == ["a", "b"]


# --- configuration errors -------------------------------------------------------------------


def error_of(**spec: Any) -> str:
    with pytest.raises(ConfigurationError) as info:
        define(**spec)
    return str(info.value)


def test_unknown_task_type():
    message = error_of(task_type="span", data_format="premise_only", labels=["a"])
    assert "Task 'demo'" in message and "unknown task_type 'span'" in message
    assert (
        "['classification', 'masked_lm', 'multi_label_classification', 'ranking', 'regression', "
        "'sequence_labeling', 'span_extraction']" in message
    )


@pytest.mark.parametrize(
    "task_type, data_format, allowed",
    [
        ("classification", "sequence", "['premise_only', 'premise_and_one_hypothesis']"),
        ("regression", "sequence", "['premise_only', 'premise_and_one_hypothesis']"),
        ("sequence_labeling", "premise_only", "['sequence']"),
        ("classification", "premise_and_two_hypotheses", "['premise_only', "),
    ],
)
def test_data_format_that_does_not_fit(task_type, data_format, allowed):
    message = error_of(task_type=task_type, data_format=data_format, labels=["a", "b"])
    assert f"data_format '{data_format}' does not fit task_type '{task_type}'" in message
    assert f"Use one of {allowed}" in message


@pytest.mark.parametrize("labels", [None, []])
@pytest.mark.parametrize(
    "task_type, data_format",
    [("classification", "premise_only"), ("sequence_labeling", "sequence")],
)
def test_labelled_task_without_labels(task_type, data_format, labels):
    spec = {"task_type": task_type, "data_format": data_format}
    if labels is not None:
        spec["labels"] = labels
    message = error_of(**spec)
    assert f"Task 'demo': a {task_type} task needs its label set" in message
    assert "labels: [...]" in message


def test_n_class_mismatch():
    message = error_of(
        task_type="classification", data_format="premise_only", labels=["a", "b"], n_class=3
    )
    assert "Task 'demo': n_class is 3 but 2 labels are declared" in message
    # a matching n_class is fine
    assert (
        define(
            task_type="classification", data_format="premise_only", labels=["a", "b"], n_class=2
        ).n_class
        == 2
    )


def test_duplicate_labels():
    message = error_of(task_type="classification", data_format="premise_only", labels=["a", "a"])
    assert "Task 'demo': labels repeat a value: ['a', 'a']" in message


def test_missing_required_keys():
    with pytest.raises(ConfigurationError, match="task_type"):
        TaskDefinition.from_params(Params({"name": "x", "data_format": "sequence", "reader": {}}))


# --- the task library -----------------------------------------------------------------------

EXPECTED_TASKS = {
    "mlm",
    "nsp",
    "squad_v1",
    "squad_v2",
    "cola",
    "sst2",
    "mrpc",
    "stsb",
    "qqp",
    "mnli",
    "qnli",
    "qnli_ranking",
    "trec",
    "everyday_mc",
    "everyday_cloze",
    "rte",
    "wnli",
    "snli",
    "scitail",
    "conll2003",
    "ncbi_disease",
    "bc5cdr_chem",
    "bc5cdr_disease",
}


def test_library_holds_the_expected_tasks():
    assert set(library()) == EXPECTED_TASKS


@pytest.mark.parametrize("name", sorted(EXPECTED_TASKS))
def test_every_library_entry_is_a_task_definition(name):
    spec = library()[name]
    task = TaskDefinition.from_params(Params(spec))
    assert task.name == name
    assert task.n_class == (len(task.labels) if task.labels else 1)
    check_metric_names(name, task.metrics)
    for which in ("loss", "kd_loss", "adv_loss"):
        assert isinstance(task.build_loss(which), TaskLoss)
    reader_class = DatasetReader.by_name(task.reader["type"])
    assert issubclass(reader_class, TaskReader)
    label_map = task.reader.get("label_map", {})
    assert set(label_map.values()) <= set(task.labels or [])


def test_library_evaluates_through_allennlp_params_without_environment(monkeypatch):
    import mtdnn_allennlp.common.environment  # noqa: F401  (installs the ext var defaults)

    monkeypatch.delenv("MTDNN_DATA", raising=False)
    params = Params.from_file(str(LIBRARY))
    rte = TaskDefinition.from_params(params.pop("rte"))
    assert rte.labels == ["entailment", "not_entailment"]
    assert rte.reader["columns"]["hypothesis"] == "sentence2"


def test_library_types_match_their_entries():
    entries = library()
    assert entries["stsb"]["task_type"] == "regression"
    assert {n for n, e in entries.items() if e["task_type"] == "sequence_labeling"} == {
        "conll2003",
        "ncbi_disease",
        "bc5cdr_chem",
        "bc5cdr_disease",
    }
    assert entries["conll2003"]["labels"][0] == "O" and len(entries["conll2003"]["labels"]) == 9
