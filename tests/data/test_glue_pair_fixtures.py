"""The hand-made QQP, MNLI and QNLI-train fixtures: GLUE's exact layouts, read through the task
library's reader settings (tasks.libsonnet). Expectations come from splitting the files here."""

import pytest
from allennlp.common import Params

from tests.data.test_readers import DATA, ROOT, label_of, make_reader, meta, tsv

QQP_HEADER = ["id", "qid1", "qid2", "question1", "question2", "is_duplicate"]
MNLI_FIRST_TEN = [
    "index", "promptID", "pairID", "genre", "sentence1_binary_parse", "sentence2_binary_parse",
    "sentence1_parse", "sentence2_parse", "sentence1", "sentence2",
]  # fmt: skip
MNLI_LABELS = ["contradiction", "neutral", "entailment"]  # declared order in tasks.libsonnet


@pytest.mark.parametrize("split, rows_expected", [("train", 20), ("dev", 10)])
def test_qqp_pairs_and_duplicate_labels(split, rows_expected):
    path = DATA / "glue" / "QQP" / f"{split}.tsv"
    header, rows = tsv(path)
    assert header == QQP_HEADER
    instances = list(make_reader("qqp").read(str(path)))
    assert len(instances) == len(rows) == rows_expected
    # label_map {"0": "not_duplicate", "1": "duplicate"}, declared in that order
    assert [label_of(i) for i in instances] == [int(row[5]) for row in rows]
    assert {label_of(i) for i in instances} == {0, 1}
    assert [meta(i)["id"] for i in instances] == [row[0] for row in rows]
    assert [(meta(i)["premise"], meta(i)["hypothesis"]) for i in instances] == [
        (row[3], row[4]) for row in rows
    ]


def test_qqp_test_split_is_unlabelled():
    path = DATA / "glue" / "QQP" / "test.tsv"
    header, rows = tsv(path)
    assert header == ["id", "question1", "question2"]
    instances = list(make_reader("qqp").read(str(path)))
    assert len(instances) == len(rows) > 0
    assert all("label" not in i.fields for i in instances)


@pytest.mark.parametrize(
    "name, width, rows_expected",
    [("train", 12, 20), ("dev_matched", 16, 10), ("dev_mismatched", 16, 10)],
)
def test_mnli_gold_labels_from_the_glue_layout(name, width, rows_expected):
    path = DATA / "glue" / "MNLI" / f"{name}.tsv"
    header, rows = tsv(path)
    assert header[:10] == MNLI_FIRST_TEN and header[-1] == "gold_label"
    assert len(header) == width and all(len(row) == width for row in rows)
    instances = list(make_reader("mnli").read(str(path)))
    assert len(instances) == len(rows) == rows_expected
    assert [label_of(i) for i in instances] == [MNLI_LABELS.index(row[-1]) for row in rows]
    assert {label_of(i) for i in instances} == {0, 1, 2}
    assert [meta(i)["premise"] for i in instances] == [row[8] for row in rows]
    assert [meta(i)["hypothesis"] for i in instances] == [row[9] for row in rows]
    if width == 16:  # dev: the gold label is the majority of the five annotators'
        for row in rows:
            assert row[10:15].count(row[15]) >= 3


def test_mnli_matched_and_mismatched_genres_differ():
    genres = {
        name: {row[3] for row in tsv(DATA / "glue" / "MNLI" / f"{name}.tsv")[1]}
        for name in ("train", "dev_matched", "dev_mismatched")
    }
    assert genres["dev_matched"] <= genres["train"]
    assert not genres["dev_mismatched"] & genres["train"]


@pytest.mark.parametrize("name", ["test_matched", "test_mismatched"])
def test_mnli_test_splits_are_unlabelled(name):
    path = DATA / "glue" / "MNLI" / f"{name}.tsv"
    header, rows = tsv(path)
    assert header == MNLI_FIRST_TEN
    instances = list(make_reader("mnli").read(str(path)))
    assert len(instances) == len(rows) > 0
    assert all("label" not in i.fields for i in instances)


def test_qnli_train_has_the_dev_files_layout():
    path = DATA / "glue" / "QNLI" / "train.tsv"
    header, rows = tsv(path)
    assert header == tsv(DATA / "glue" / "QNLI" / "dev.tsv")[0]
    instances = list(make_reader("qnli").read(str(path)))
    assert len(instances) == len(rows) == 20
    declared = ["entailment", "not_entailment"]
    assert [label_of(i) for i in instances] == [declared.index(row[3]) for row in rows]


@pytest.mark.parametrize(
    "config, task, train, dev",
    [
        ("qqp", "qqp", "QQP/train.tsv", "QQP/dev.tsv"),
        ("mnli", "mnli", "MNLI/train.tsv", "MNLI/dev_matched.tsv"),
        ("qnli", "qnli", "QNLI/train.tsv", "QNLI/dev.tsv"),
    ],
)
def test_glue_configs_default_to_the_fixtures(config, task, train, dev, monkeypatch):
    for variable in ("MTDNN_DATA", "MTDNN_ENCODER", "MTDNN_SMOKE", "MTDNN_TRAIN_EXAMPLES"):
        monkeypatch.delenv(variable, raising=False)  # no environment set
    path = ROOT / "training_config" / "glue" / f"{config}.jsonnet"
    params = Params.from_file(str(path)).as_dict()
    assert params["model"]["encoder"]["model_name"] == "all-MiniLM-L6-v2"
    assert params["train_data_path"] == {task: str(DATA / "glue" / train)}
    assert params["validation_data_path"] == {task: str(DATA / "glue" / dev)}
    assert [each["name"] for each in params["model"]["tasks"]] == [task]
    for each in (train, dev):
        assert (DATA / "glue" / each).is_file()
