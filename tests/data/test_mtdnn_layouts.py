"""MT-DNN's raw TSV layout (mtdnn_tsv) for each data format, QNLI rows grouped into ranking
examples (grouped_pairs_tsv), and ranking examples in JSON lines.

Expected values come from the test's own rows and plain string splitting of the fixture, never
from the reader under test.
"""

from pathlib import Path
from typing import Any, Dict, List

import pytest
from allennlp.common import Params
from allennlp.common.util import import_module_and_submodules
from allennlp.data import DatasetReader, Instance
from transformers import AutoTokenizer

from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.data.dataset_readers import TaskReader
from mtdnn_allennlp.data.tokenization import _segments
from mtdnn_allennlp.tasks import TaskDefinition

import_module_and_submodules("mtdnn_allennlp")

ROOT = Path(__file__).resolve().parents[2]
TINY_BERT = str(ROOT / "fixtures" / "tiny_bert")
QNLI_DEV = ROOT / "fixtures" / "data" / "glue" / "QNLI" / "dev.tsv"

FORMATS: Dict[str, Dict[str, Any]] = {
    "premise_only": {"task_type": "classification", "labels": ["negative", "positive"]},
    "premise_and_one_hypothesis": {
        "task_type": "classification",
        "labels": ["entailment", "not_entailment"],
    },
    "premise_and_multi_hypothesis": {"task_type": "ranking"},
    "sequence": {"task_type": "sequence_labeling", "labels": ["O", "B-PER", "I-PER"]},
}


def reader_for(data_format: str, layout: Dict[str, Any], **spec: Any) -> TaskReader:
    definition = TaskDefinition.from_params(
        Params(
            {
                "name": "demo",
                "data_format": data_format,
                "reader": layout,
                **FORMATS[data_format],
                **spec,
            }
        )
    )
    reader = DatasetReader.from_params(
        Params(dict(definition.reader)), task=definition, encoder=TINY_BERT
    )
    assert isinstance(reader, TaskReader)
    return reader


def mtdnn(data_format: str, **spec: Any) -> TaskReader:
    return reader_for(data_format, {"type": "mtdnn_tsv"}, **spec)


def write(tmp_path: Path, lines: List[str]) -> Path:
    path = tmp_path / "data.tsv"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def meta(instance: Instance) -> Dict[str, Any]:
    return instance["metadata"].metadata  # type: ignore[attr-defined]


def read_error(reader: TaskReader, path: Path) -> DataError:
    with pytest.raises(DataError) as info:
        list(reader.read(str(path)))
    return info.value


def assert_located(error: DataError, path: Path, line: int, field: str) -> None:
    message = str(error)
    assert f"{path}:{line}" in message
    assert f"field '{field}'" in message and error.field == field
    assert "task 'demo'" in message
    assert "How to fix: " in message


# --- mtdnn_tsv, one test per data format --------------------------------------------------------


def test_mtdnn_tsv_premise_only_with_label_map(tmp_path):
    path = write(tmp_path, ["u1\t1\ta fine film", "u2\t0\tdull"])
    reader = reader_for(
        "premise_only", {"type": "mtdnn_tsv", "label_map": {"0": "negative", "1": "positive"}}
    )
    instances = list(reader.read(str(path)))
    assert [meta(i)["id"] for i in instances] == ["u1", "u2"]
    assert [meta(i)["premise"] for i in instances] == ["a fine film", "dull"]
    assert [i["label"].label for i in instances] == [1, 0]  # type: ignore[attr-defined]


def test_mtdnn_tsv_premise_and_one_hypothesis(tmp_path):
    path = write(tmp_path, ["7\tnot_entailment\tA man sleeps.\tA man runs.", ""])
    instance = list(mtdnn("premise_and_one_hypothesis").read(str(path)))[0]
    assert (meta(instance)["premise"], meta(instance)["hypothesis"]) == (
        "A man sleeps.",
        "A man runs.",
    )
    assert instance["label"].label == 1  # type: ignore[attr-defined]
    type_ids = instance["tokens"].type_ids.tolist()  # type: ignore[attr-defined]
    assert 0 in type_ids and 1 in type_ids  # two segments


def test_mtdnn_tsv_premise_and_multi_hypothesis(tmp_path):
    path = write(
        tmp_path,
        [
            "q1\tr1,r2,r3\t2\twho wrote it?\tit rained\tthe sky is blue\tjohn wrote it",
            "q2\t\t0\twhere?\there\tthere",
        ],
    )
    instances = list(mtdnn("premise_and_multi_hypothesis").read(str(path)))
    first, second = instances
    assert meta(first)["hypotheses"] == ["it rained", "the sky is blue", "john wrote it"]
    assert first["label"].label == 2  # type: ignore[attr-defined]
    assert len(first["tokens"]) == 3 and len(second["tokens"]) == 2  # type: ignore[arg-type]
    tokenizer = AutoTokenizer.from_pretrained(TINY_BERT)
    ids = first["tokens"].field_list[2].ids.tolist()  # type: ignore[attr-defined]
    pieces = tokenizer.convert_ids_to_tokens(ids)
    expected = tokenizer.convert_ids_to_tokens(
        tokenizer("who wrote it?", "john wrote it")["input_ids"]
    )
    assert pieces == expected
    assert meta(second)["id"] == "q2"


def test_mtdnn_tsv_sequence(tmp_path):
    path = write(tmp_path, ["s1\t['B-PER', 'I-PER', 'O']\t['John', 'Smith', 'ran']"])
    instance = list(mtdnn("sequence").read(str(path)))[0]
    assert meta(instance)["words"] == ["John", "Smith", "ran"]
    assert meta(instance)["tags"] == ["B-PER", "I-PER", "O"]
    labels = instance["label"].tensor.tolist()  # type: ignore[attr-defined]
    starts = meta(instance)["word_starts"]
    assert [labels[s] for s in starts] == [1, 2, 0]


# --- mtdnn_tsv, malformed rows ------------------------------------------------------------------


@pytest.mark.parametrize(
    "data_format, row, field",
    [
        ("premise_only", "u1\t1", "premise"),
        ("premise_and_one_hypothesis", "u1\tentailment\tpremise only", "hypothesis"),
        ("premise_and_multi_hypothesis", "u1\tr1\t0\tpremise\tone hypothesis", "hypotheses"),
        ("premise_and_multi_hypothesis", "u1\tr1,r2,r3\t0\tp\th1\th2", "ruid"),
        ("premise_and_multi_hypothesis", "u1\t\t2\tp\th1\th2", "label"),
        ("premise_and_multi_hypothesis", "u1\t\tfirst\tp\th1\th2", "label"),
        ("sequence", "s1\tB-PER O\t['John', 'ran']", "tags"),
        ("sequence", "s1\t['O']\t['John', 'ran']", "tags"),
        ("sequence", "s1\t['O', 'O']\tJohn ran", "words"),
    ],
)
def test_mtdnn_tsv_malformed_row_names_file_line_and_field(tmp_path, data_format, row, field):
    good = {
        "premise_only": "u0\tpositive\tfine",
        "premise_and_one_hypothesis": "u0\tentailment\ta\tb",
        "premise_and_multi_hypothesis": "u0\t\t0\tp\th1\th2",
        "sequence": "s0\t['O']\t['Hi']",
    }[data_format]
    path = write(tmp_path, [good, row])
    assert_located(read_error(mtdnn(data_format), path), path, 2, field)


def test_mtdnn_tsv_extra_column_is_an_error(tmp_path):
    path = write(tmp_path, ["u1\tpositive\tfine\textra"])
    error = read_error(mtdnn("premise_only"), path)
    assert f"{path}:1" in str(error) and "4 columns where the layout has 3" in str(error)


def test_mtdnn_tsv_skip_invalid_counts_bad_rows(tmp_path):
    path = write(tmp_path, ["u1\tpositive\tfine", "u2\tpositive", "u3\tnegative\tbad"])
    reader = reader_for("premise_only", {"type": "mtdnn_tsv", "skip_invalid": True})
    assert [meta(i)["id"] for i in reader.read(str(path))] == ["u1", "u3"]
    assert reader.skipped == 1


# --- grouped_pairs_tsv on the QNLI fixture ------------------------------------------------------


def qnli_groups() -> List[List[List[str]]]:
    rows = [line.split("\t") for line in QNLI_DEV.read_text("utf-8").splitlines()[1:] if line]
    groups: Dict[str, List[List[str]]] = {}
    for row in rows:
        groups.setdefault(row[1], []).append(row)
    return [
        group
        for group in groups.values()
        if len(group) >= 2 and [r[3] for r in group].count("entailment") == 1
    ]


def grouped_reader() -> TaskReader:
    return reader_for(
        "premise_and_multi_hypothesis",
        {
            "type": "grouped_pairs_tsv",
            "columns": {"premise": "question", "hypothesis": "sentence", "label": "label"}
            | {"id": "index"},
            "positive_label": "entailment",
        },
    )


def test_grouped_pairs_make_one_ranking_example_per_question():
    expected = qnli_groups()
    assert len(expected) >= 10  # the fixture holds whole question groups
    instances = list(grouped_reader().read(str(QNLI_DEV)))
    assert len(instances) == len(expected)
    for instance, group in zip(instances, expected, strict=True):
        assert meta(instance)["premise"] == group[0][1]
        assert meta(instance)["hypotheses"] == [row[2] for row in group]
        right = [row[3] for row in group].index("entailment")
        assert instance["label"].label == right  # type: ignore[attr-defined]
        assert meta(instance)["id"] == ",".join(row[0] for row in group)


def test_grouped_pairs_leave_out_questions_that_are_not_groups(tmp_path):
    path = write(
        tmp_path,
        [
            "index\tquestion\tsentence\tlabel",
            "1\tq1\ts1\tentailment",
            "2\tq2\ts2\tnot_entailment",
            "3\tq1\ts3\tnot_entailment",
            "4\tq3\ts4\tentailment",
            "5\tq3\ts5\tentailment",
        ],
    )
    reader = grouped_reader()
    instances = list(reader.read(str(path)))
    assert [meta(i)["hypotheses"] for i in instances] == [["s1", "s3"]]
    assert reader.left_out == 2  # q2 alone, q3 with two right answers


def test_grouped_pairs_without_labels_for_test_files(tmp_path):
    path = write(tmp_path, ["index\tquestion\tsentence", "1\tq\ta", "2\tq\tb"])
    instance = list(grouped_reader().read(str(path)))[0]
    assert "label" not in instance.fields
    assert meta(instance)["hypotheses"] == ["a", "b"]


# --- ranking in JSON lines, and instance checks -------------------------------------------------


def test_jsonl_ranking_examples(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text(
        '{"id": "a", "premise": "who?", "hypotheses": ["me", "you", "them"], "label": 1}\n'
        '{"id": "b", "premise": "who?", "hypotheses": ["me"], "label": 0}\n',
        encoding="utf-8",
    )
    reader = reader_for("premise_and_multi_hypothesis", {"type": "jsonl"})
    instances = reader.read(str(path))
    first = next(iter(instances))
    assert meta(first)["hypotheses"] == ["me", "you", "them"]
    assert first["label"].label == 1  # type: ignore[attr-defined]
    error = read_error(reader, path)
    assert_located(error, path, 2, "hypotheses")
    assert "at least 2" in str(error)


def test_ranking_instance_needs_non_empty_hypotheses():
    reader = reader_for("premise_and_multi_hypothesis", {"type": "jsonl"})
    with pytest.raises(DataError, match="hypotheses is empty"):
        reader.text_to_instance(premise="p", hypotheses=["a", " "])
    unlabelled = reader.text_to_instance(premise="p", hypotheses=["a", "b"])
    assert "label" not in unlabelled.fields


def test_segments_mark_the_second_text_for_tokenizers_without_type_ids():
    # RoBERTa-style sequence ids: <s> A </s></s> B </s>
    assert _segments([None, 0, 0, None, None, 1, 1, None]) == [0, 0, 0, 0, 0, 1, 1, 1]
    assert _segments([None, 0, None]) == [0, 0, 0]


def test_ranking_truncation_is_counted_once_per_example(tmp_path):
    long = " ".join(["word"] * 40)
    path = tmp_path / "data.jsonl"
    path.write_text(
        # Both candidates of the first example are cut; the second example fits.
        f'{{"premise": "{long}", "hypotheses": ["{long}", "{long} too"], "label": 0}}\n'
        '{"premise": "who?", "hypotheses": ["me", "you"], "label": 1}\n',
        encoding="utf-8",
    )
    reader = reader_for("premise_and_multi_hypothesis", {"type": "jsonl", "max_length": 32})
    instances = list(reader.read(str(path)))
    assert [len(instance["tokens"]) for instance in instances] == [2, 2]  # type: ignore
    assert reader.truncated == 1


def test_mtdnn_tsv_undecodable_bytes_are_a_located_skippable_row(tmp_path):
    path = tmp_path / "data.tsv"
    path.write_bytes(b"u1\t1\ta fine film\nu2\t0\tdu\xffll\nu3\t0\tdull\n")
    layout = {"type": "mtdnn_tsv", "label_map": {"0": "negative", "1": "positive"}}
    with pytest.raises(DataError) as info:
        list(reader_for("premise_only", layout).read(str(path)))
    message = str(info.value)
    assert f"{path}:2" in message and "not valid utf-8" in message and "How to fix" in message
    skipping = reader_for("premise_only", {**layout, "skip_invalid": True})
    assert [meta(i)["id"] for i in skipping.read(str(path))] == ["u1", "u3"]
