"""The `mtdnn_hf_dataset` layout: Hugging Face datasets saved on disk, read offline."""

import datasets
import pytest
from allennlp.common.checks import ConfigurationError
from allennlp.data.fields import LabelField

from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.data.dataset_readers import HfDatasetReader
from tests.conftest import TINY_BERT
from tests.support.tiny_models import task

RTE_FEATURES = datasets.Features(
    {
        "sentence1": datasets.Value("string"),
        "sentence2": datasets.Value("string"),
        "label": datasets.ClassLabel(names=["entailment", "not_entailment"]),
    }
)
RTE_ROWS = {
    "sentence1": ["Paris is in France.", "It rained all day.", "Unlabelled premise."],
    "sentence2": ["Paris is French.", "The day was dry.", "Unlabelled hypothesis."],
    "label": [0, 1, -1],  # -1: an unlabelled row, as GLUE's test splits have
}
RTE_FIELDS = {"sentence1": "premise", "sentence2": "hypothesis"}


def _reader(name="rte", **kwargs) -> HfDatasetReader:
    return HfDatasetReader(task=task(name), encoder=str(TINY_BERT), **kwargs)


def _read(reader, path):
    return [instance["metadata"].metadata | _label(instance) for instance in reader.read(path)]


def _label(instance):
    label = instance.fields.get("label")
    return {"label_index": label.label} if isinstance(label, LabelField) else {}


@pytest.fixture
def rte_dataset():
    return datasets.Dataset.from_dict(RTE_ROWS, features=RTE_FEATURES)


def test_a_saved_dataset_dict_is_read_by_split_with_class_labels_named(rte_dataset, tmp_path):
    folder = tmp_path / "rte"
    datasets.DatasetDict(
        {"train": rte_dataset, "validation": rte_dataset.select([1])}
    ).save_to_disk(str(folder))
    rows = _read(_reader(field_map=RTE_FIELDS), str(folder))  # split "train" by default
    assert [row["premise"] for row in rows] == RTE_ROWS["sentence1"]
    assert [row.get("label_index") for row in rows] == [0, 1, None]
    # A split as the reader's setting, or as the split's own folder.
    for reader, path in [
        (_reader(field_map=RTE_FIELDS, split="validation"), str(folder)),
        (_reader(field_map=RTE_FIELDS), str(folder / "validation")),
    ]:
        assert [row["hypothesis"] for row in _read(reader, path)] == ["The day was dry."]


@pytest.mark.parametrize("suffix", ["parquet", "json", "jsonl", "arrow"])
def test_files_are_read_through_load_dataset(rte_dataset, tmp_path, suffix):
    path = tmp_path / f"rte.{suffix}"
    settings = {}
    if suffix == "parquet":
        rte_dataset.to_parquet(str(path))
    elif suffix in ("json", "jsonl"):
        # JSON keeps no ClassLabel: the integers are label values, mapped like a TSV's.
        rte_dataset.select([0, 1]).to_json(str(path))
        settings["label_map"] = {"0": "entailment", "1": "not_entailment"}
    else:
        rte_dataset.save_to_disk(str(tmp_path / "saved"))
        path = next((tmp_path / "saved").glob("*.arrow"))
    rows = _read(_reader(field_map=RTE_FIELDS, **settings), str(path))
    assert [row["hypothesis"] for row in rows][:2] == ["Paris is French.", "The day was dry."]
    assert [row.get("label_index") for row in rows][:2] == [0, 1]


def test_class_label_names_outside_the_task_are_refused_with_a_fix(tmp_path):
    features = RTE_FEATURES.copy()
    features["label"] = datasets.ClassLabel(names=["entailment", "contradiction"])
    folder = tmp_path / "other"
    datasets.Dataset.from_dict(RTE_ROWS, features=features).save_to_disk(str(folder))
    with pytest.raises(DataError) as error:
        list(_reader(field_map=RTE_FIELDS).read(str(folder)))
    message = str(error.value)
    assert str(folder) in message and "field 'label'" in message
    assert "['contradiction']" in message and "label_map" in message
    # The label_map the error suggests fixes it.
    mapped = _reader(field_map=RTE_FIELDS, label_map={"contradiction": "not_entailment"})
    assert [row.get("label_index") for row in _read(mapped, str(folder))] == [0, 1, None]


def test_a_missing_column_and_a_missing_split_are_located_errors(rte_dataset, tmp_path):
    folder = tmp_path / "rte"
    datasets.DatasetDict({"train": rte_dataset}).save_to_disk(str(folder))
    with pytest.raises(DataError, match=r"field 'premise'.*no column for the field 'premise'"):
        list(_reader().read(str(folder)))
    with pytest.raises(DataError, match=r"no split 'test'; it has \['train'\]"):
        list(_reader(field_map=RTE_FIELDS, split="test").read(str(folder)))
    with pytest.raises(DataError, match="no saved dataset folder"):
        list(_reader(field_map=RTE_FIELDS).read(str(tmp_path / "nowhere")))


def test_a_bad_row_names_the_row(tmp_path):
    rows = dict(RTE_ROWS, sentence1=["Paris is in France.", "", "x"])
    folder = tmp_path / "rte"
    datasets.Dataset.from_dict(rows, features=RTE_FEATURES).save_to_disk(str(folder))
    with pytest.raises(DataError, match=rf"{folder}:2, task 'rte', field 'premise'"):
        list(_reader(field_map=RTE_FIELDS).read(str(folder)))


def test_data_formats_with_readers_of_their_own_are_refused():
    with pytest.raises(ConfigurationError, match="not 'question_and_context'.*squad_json"):
        _reader("squad_v1")


def test_tags_as_a_sequence_of_class_labels(tmp_path):
    labels = task("conll2003").labels
    features = datasets.Features(
        {
            "tokens": datasets.Sequence(datasets.Value("string")),
            "ner_tags": datasets.Sequence(datasets.ClassLabel(names=labels)),
        }
    )
    rows = {"tokens": [["Maria", "visited", "Paris"]], "ner_tags": [[1, 0, 5]]}
    folder = tmp_path / "ner"
    datasets.Dataset.from_dict(rows, features=features).save_to_disk(str(folder))
    reader = _reader("conll2003", field_map={"tokens": "words", "ner_tags": "tags"})
    (row,) = _read(reader, str(folder))
    assert row["tags"] == ["B-PER", "O", "B-LOC"]
