"""Merging per-task soft-target files into one for a multi-task student: concatenation, with an
example covered by two files refused (function and `allennlp merge-soft-targets`)."""

import json

import pytest

from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.distillation.soft_targets import merge_records, read_records
from tests.conftest import run_allennlp

RTE = [
    {"task": "rte", "id": "1", "probabilities": [0.9, 0.1]},
    {"task": "rte", "id": "2", "probabilities": [0.3, 0.7]},
]
STSB = [{"task": "stsb", "id": "1", "score": 4.5}]
NER = [{"task": "conll2003", "id": "1", "probabilities": [[0.8, 0.2], None]}]


def _write(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


def test_merge_keeps_every_record_of_every_file_unchanged(tmp_path):
    files = [_write(tmp_path / f"{n}.jsonl", rows) for n, rows in (("a", RTE), ("b", STSB + NER))]
    merged = merge_records([read_records(file) for file in files], files)
    # Same id "1" in different tasks is no overlap: keys are (task, id).
    assert set(merged) == {("rte", "1"), ("rte", "2"), ("stsb", "1"), ("conll2003", "1")}
    assert merged[("rte", "2")]["probabilities"] == [0.3, 0.7]
    assert merged[("stsb", "1")]["score"] == 4.5
    assert merged[("conll2003", "1")]["probabilities"] == [[0.8, 0.2], None]


def test_merge_refuses_an_example_in_two_files_and_names_both(tmp_path):
    first = _write(tmp_path / "first.jsonl", RTE)
    second = _write(tmp_path / "second.jsonl", STSB + [RTE[1]])
    with pytest.raises(DataError) as error:
        merge_records([read_records(first), read_records(second)], [first, second])
    message = str(error.value)
    assert f"example id '2' has soft targets in both {first} and {second}" in message
    assert f"{second}:2" in message and "ensemble-soft-targets" in message


def test_merge_soft_targets_command_writes_one_file_and_refuses_overlaps(tmp_path):
    rte = _write(tmp_path / "rte.jsonl", RTE)
    stsb = _write(tmp_path / "stsb.jsonl", STSB)
    out = tmp_path / "merged.jsonl"
    run_allennlp(["merge-soft-targets", rte, stsb, "--output-file", str(out)])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows == RTE + STSB  # in file order, without the reader's bookkeeping keys
    result = run_allennlp(
        ["merge-soft-targets", rte, rte, "--output-file", str(tmp_path / "bad.jsonl")],
        check=False,
    )
    assert result.returncode != 0
    assert "example id '1' has soft targets in both" in result.stderr
    assert not (tmp_path / "bad.jsonl").exists()
