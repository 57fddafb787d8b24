"""The SQuAD reader on the hand-written fixtures (fixtures/data/squad, made by
scripts/make_squad_fixtures.py) and on small files written here.

Expected answers come from the JSON files, parsed here; the reader's word-piece targets are
checked by mapping them back to characters with the tokenizer's own offsets.
"""

import json
import logging
from copy import deepcopy
from pathlib import Path
from typing import Any, Dict, List

import pytest
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.common.util import import_module_and_submodules
from allennlp.data import DatasetReader

from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.data.dataset_readers import SquadReader
from mtdnn_allennlp.tasks import TaskDefinition

import_module_and_submodules("mtdnn_allennlp")

ROOT = Path(__file__).resolve().parents[2]
SQUAD = ROOT / "fixtures" / "data" / "squad"
TINY_BERT = str(ROOT / "fixtures" / "tiny_bert")


def squad_task(no_answer: bool) -> TaskDefinition:
    return TaskDefinition(
        name="squad_v2" if no_answer else "squad_v1",
        task_type="span_extraction",
        data_format="question_and_context",
        reader={"type": "squad_json"},
        head={"no_answer": no_answer},
    )


def reader(no_answer: bool = False, **kwargs: Any) -> SquadReader:
    task = squad_task(no_answer)
    params = dict(task.reader, doc_stride=kwargs.pop("doc_stride", 32))
    params.update(kwargs.pop("layout", {}))
    made = DatasetReader.from_params(
        Params(deepcopy(params)),
        task=task,
        encoder=TINY_BERT,
        max_length=kwargs.pop("max_length", 128),
        **kwargs,
    )
    assert isinstance(made, SquadReader)
    return made


def questions(path: Path) -> Dict[str, Dict[str, Any]]:
    found = {}
    for article in json.loads(path.read_text())["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                found[qa["id"]] = dict(qa, context=paragraph["context"])
    return found


def span_text(instance) -> str:
    start, end = instance["label"].tensor.tolist()
    metadata = instance["metadata"].metadata
    offsets = metadata["offsets"]
    return metadata["context"][offsets[start][0] : offsets[end][1]]


def write(
    tmp_path: Path, qas: List[Dict[str, Any]], context: str = "Kelby lies on the Aldon."
) -> Path:
    path = tmp_path / "squad.json"
    path.write_text(json.dumps({"data": [{"paragraphs": [{"context": context, "qas": qas}]}]}))
    return path


def test_v1_targets_map_back_to_the_gold_answer_text():
    expected = questions(SQUAD / "train-v1.1.json")
    instances = list(reader().read(str(SQUAD / "train-v1.1.json")))
    assert {i["metadata"].metadata["id"] for i in instances} == set(expected)
    answered = set()
    for instance in instances:
        qa = expected[instance["metadata"].metadata["id"]]
        answer = qa["answers"][0]
        if instance["label"].tensor.tolist() == [0, 0]:
            # a window without the answer: the answer's characters are not all in it
            spans = [s for s in instance["metadata"].metadata["offsets"] if s is not None]
            first, last = answer["answer_start"], answer["answer_start"] + len(answer["text"])
            assert not (spans[0][0] <= first and last <= spans[-1][1])
            continue
        answered.add(qa["id"])
        assert span_text(instance) == answer["text"]
        # the answer may only start and end on [CLS] or the context's own word pieces
        offsets = instance["metadata"].metadata["offsets"]
        allowed = instance["answer_mask"].tensor.tolist()
        assert allowed == [
            position == 0 or span is not None for position, span in enumerate(offsets)
        ]
    assert answered == set(expected)


def test_long_contexts_are_split_into_overlapping_windows_that_keep_the_answer():
    expected = questions(SQUAD / "train-v1.1.json")
    # Windows share 32 word pieces, more than the longest answer has: each answer is whole in one.
    squad = reader(max_length=64, layout={"max_query_length": 12}, doc_stride=32)
    instances = list(squad.read(str(SQUAD / "train-v1.1.json")))
    by_question: Dict[str, list] = {}
    for instance in instances:
        by_question.setdefault(instance["metadata"].metadata["id"], []).append(instance)
    assert max(len(windows) for windows in by_question.values()) >= 3
    for qid, windows in by_question.items():
        assert all(len(w["tokens"]) <= 64 for w in windows)
        holding = [w for w in windows if w["label"].tensor.tolist() != [0, 0]]
        assert holding, f"{qid}: no window holds the answer"
        for window in holding:
            assert span_text(window) == expected[qid]["answers"][0]["text"]
        # consecutive windows share context characters (the stride)
        for first, second in zip(windows, windows[1:], strict=False):
            spans_a = [s for s in first["metadata"].metadata["offsets"] if s is not None]
            spans_b = [s for s in second["metadata"].metadata["offsets"] if s is not None]
            assert spans_b[0][0] < spans_a[-1][1]


def test_v2_unanswerable_questions_point_at_cls_and_have_no_gold_text():
    expected = questions(SQUAD / "train-v2.0.json")
    instances = list(reader(no_answer=True, max_length=384).read(str(SQUAD / "train-v2.0.json")))
    impossible = {qid for qid, qa in expected.items() if qa["is_impossible"]}
    assert impossible
    for instance in instances:
        metadata = instance["metadata"].metadata
        if metadata["id"] in impossible:
            assert instance["label"].tensor.tolist() == [0, 0]
            assert metadata["answers"] == []
        else:
            assert span_text(instance) == expected[metadata["id"]]["answers"][0]["text"]


def test_unanswerable_questions_need_the_no_answer_head():
    with pytest.raises(DataError, match="is_impossible"):
        list(reader(no_answer=False).read(str(SQUAD / "train-v2.0.json")))


def test_mismatched_answers_are_counted_reported_and_never_used(tmp_path, caplog):
    path = write(
        tmp_path,
        [
            {
                "id": "good",
                "question": "Where?",
                "answers": [{"text": "Aldon", "answer_start": 18}],
            },
            {
                "id": "one-bad",
                "question": "What?",
                "answers": [
                    {"text": "Kelby", "answer_start": 3},
                    {"text": "Kelby", "answer_start": 0},
                ],
            },
            {
                "id": "all-bad",
                "question": "Who?",
                "answers": [{"text": "Aldon", "answer_start": 2}],
            },
        ],
    )
    squad = reader()
    with caplog.at_level(logging.WARNING):
        instances = list(squad.read(str(path)))
    assert [i["metadata"].metadata["id"] for i in instances] == ["good", "one-bad"]
    assert [span_text(i) for i in instances] == ["Aldon", "Kelby"]
    assert (squad.answers_total, squad.answers_mismatched, squad.questions_without_answer) == (
        4,
        2,
        1,
    )
    assert "2 of 4 answers" in caplog.text and "one-bad, all-bad" in caplog.text


def test_strict_answers_stops_at_the_first_mismatch(tmp_path):
    path = write(
        tmp_path,
        [{"id": "q7", "question": "Who?", "answers": [{"text": "Aldon", "answer_start": 2}]}],
    )
    with pytest.raises(DataError, match="q7.*not in the context") as error:
        list(reader(layout={"strict_answers": True}).read(str(path)))
    assert error.value.field == "answers" and error.value.file == str(path)


@pytest.mark.parametrize(
    "context, question, field", [("  ", "Where?", "context"), ("Kelby.", "", "question")]
)
def test_empty_context_or_question_is_a_data_error(tmp_path, context, question, field):
    path = write(tmp_path, [{"id": "q1", "question": question, "answers": []}], context=context)
    with pytest.raises(DataError, match="is empty") as error:
        list(reader().read(str(path)))
    assert error.value.field == field and error.value.line == 1


def test_a_file_that_is_not_squad_json_is_a_data_error(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"version": "1.1"}')
    with pytest.raises(DataError, match='no "data" list'):
        list(reader().read(str(path)))


def test_a_stride_that_leaves_no_room_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="doc_stride"):
        reader(max_length=64, layout={"max_query_length": 32}, doc_stride=40)


def test_predictions_read_the_first_window_without_a_label():
    squad = reader()
    instance = squad.text_to_instance(question="Where?", context="Kelby lies on the Aldon.", id="x")
    assert "label" not in instance.fields
    assert instance["metadata"].metadata["id"] == "x"
