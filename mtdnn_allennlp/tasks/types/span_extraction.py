"""Extractive QA (SQuAD v1.1/v2.0): a start and an end logit per word piece of a context window.

An example (a question over a context) is read as one instance per window of the context
(`data/dataset_readers/squad.py`); its metrics, predictions and soft targets join the windows.
"""

import bisect
import re
from typing import Any, Dict, List, Optional, Tuple

import torch

from mtdnn_allennlp.losses import MASKED_SCORE
from mtdnn_allennlp.metrics import squad_answers
from mtdnn_allennlp.tasks.types.base import (
    DataFormat,
    ExampleMetadata,
    Record,
    SoftTargetForm,
    TaskType,
    average_per_word,
    check_probabilities,
    log_probabilities,
    mean_vectors,
    register_data_format,
    register_soft_target_form,
)


class WindowMetadata(ExampleMetadata, total=False):
    window: int  # the window's index among its question's
    context: str
    offsets: List[Optional[Tuple[int, int]]]  # per piece: its characters in the context
    answers: List[str]  # the gold answer texts


class QuestionAndContextFormat(DataFormat):
    name = "question_and_context"
    input_fields = ("question", "context")
    reader_hint = "mtdnn_squad_json, whose windows cut long contexts"


register_data_format(QuestionAndContextFormat())


def context_words(context: str) -> List[Tuple[int, int]]:
    """The (start, end) characters of the context's whitespace-separated words, SQuAD's own
    word split: the unit extractive-QA soft targets are kept in."""
    return [match.span() for match in re.finditer(r"\S+", context)]


def piece_words(
    offsets: List[Optional[Tuple[int, int]]], words: List[Tuple[int, int]]
) -> List[Optional[int]]:
    """For each word piece of a window, the index of the context word (`context_words`) it lies
    in (None for the question, special pieces and padding)."""
    starts = [start for start, _ in words]
    result: List[Optional[int]] = []
    for span in offsets:
        index = None
        if span is not None and span[1] > span[0]:
            candidate = bisect.bisect_right(starts, span[0]) - 1
            if candidate >= 0 and span[0] < words[candidate][1]:
                index = candidate
        result.append(index)
    return result


def average_span_records(parts: List[Record]) -> Record:
    """The per-word mean of several windows' (or teachers') start and end probabilities, and
    the mean no-answer probabilities."""
    return {
        "task": parts[0]["task"],
        "id": parts[0]["id"],
        "start": average_per_word([part["start"] for part in parts]),
        "end": average_per_word([part["end"] for part in parts]),
        "no_answer": mean_vectors([part["no_answer"] for part in parts]),
    }


class SpanForm(SoftTargetForm):
    """`{"start": [...], "end": [...], "no_answer": [p_start, p_end]}`: per word of the context,
    averaged over windows and teachers."""

    name = "start and end per word"

    def holds(self, record):
        return "start" in record

    def average(self, rows):
        return average_span_records(rows)


SPAN_FORM = register_soft_target_form(SpanForm())


@TaskType.register("span_extraction")
class SpanExtraction(TaskType):
    loss = "span_cross_entropy"
    kd_loss = "span_kl_divergence"
    # Start and end are distributions over positions, not per-position classes.
    adv_loss = "span_symmetric_kl"
    head = "span_extraction"
    metrics = ("squad_em", "squad_f1")
    data_formats = ("question_and_context",)
    soft_target_form = SPAN_FORM
    soft_target_padding = MASKED_SCORE
    splits_examples = True
    onnx_per_piece = True

    def update_metrics(self, task, head, metrics, logits, label, metadata) -> None:
        metrics.add(
            head.best_spans(logits, metadata),
            [(each["id"], each["answers"]) for each in metadata],
        )

    def readable(self, task, head, logits, metadata) -> Dict[str, List[Any]]:
        answers = squad_answers(head.best_spans(logits, metadata))
        return {"answer": [answers[each["id"]] for each in metadata]}

    def soft_record(self, task, logits, metadata, candidates):
        """One window's start and end probabilities per context word (summed over the word's
        pieces; null for words outside the window) and at the no-answer position."""
        probabilities = logits.softmax(0)  # (pieces, 2): over the positions, start and end apart
        words = context_words(metadata["context"])
        start: List[Optional[float]] = [None] * len(words)
        end: List[Optional[float]] = [None] * len(words)
        for position, word in enumerate(piece_words(metadata["offsets"], words)):
            if word is not None:
                start[word] = (start[word] or 0.0) + float(probabilities[position, 0])
                end[word] = (end[word] or 0.0) + float(probabilities[position, 1])
        return {"start": start, "end": end, "no_answer": probabilities[0].tolist()}

    def check_soft_record(self, task, record, fail) -> None:
        for field in ("start", "end"):
            if not isinstance(record.get(field), list):
                fail(
                    f"no {field} list (got {record.get(field)!r}).",
                    field,
                    "an extractive-QA soft target holds start and end probabilities per word "
                    "of the context",
                )
            values = [value for value in record[field] if value is not None]
            check_probabilities(values, field, fail)
        if len(record["start"]) != len(record["end"]):
            fail(
                f"{len(record['start'])} start but {len(record['end'])} end probabilities.",
                "end",
                "remake the soft targets: start and end have one value per context word",
            )
        no_answer = record.get("no_answer")
        if not isinstance(no_answer, list) or len(no_answer) != 2:
            fail(
                f"no_answer is {no_answer!r}, not [start, end] probabilities.",
                "no_answer",
                "give the no-answer position's start and end probabilities",
            )
        check_probabilities(no_answer, "no_answer", fail)

    def soft_target(self, task, record, metadata, length, mismatch):
        """A window's `(pieces, 2)` target start and end logits: the log-probability of each
        word of the window at its first piece (start) and at its last piece (end), of no answer
        at [CLS], and a masked score elsewhere. The loss's softmax over the window renormalises
        them, so the student learns the teacher's distribution restricted to the words this
        window holds."""
        words = context_words(metadata["context"])
        if len(record["start"]) != len(words):
            raise mismatch(len(record["start"]), len(words), "context words", "start")
        target = torch.full((length, 2), MASKED_SCORE)
        target[0] = log_probabilities(record["no_answer"])
        first: Dict[int, int] = {}
        last: Dict[int, int] = {}
        for position, word in enumerate(piece_words(metadata["offsets"], words)):
            if word is not None:
                first.setdefault(word, position)
                last[word] = position
        for word, position in first.items():
            if record["start"][word] is not None:
                target[position, 0] = log_probabilities(record["start"][word])
        for word, position in last.items():
            if record["end"][word] is not None:
                target[position, 1] = log_probabilities(record["end"][word])
        return target, None

    def onnx_heads(self):
        from mtdnn_allennlp.models.heads.span_extraction import SpanExtractionHead

        return (SpanExtractionHead,)

    def onnx_settings(self, task, head, task_reader) -> Dict:
        """What predict_onnx.py needs to cut a context into the reader's windows and decode the
        head's answer as the model does."""
        return {
            "doc_stride": task_reader.doc_stride,
            "max_query_length": task_reader.max_query_length,
            "max_answer_length": head.max_answer_length,
            "no_answer": head.no_answer,
            "null_score_threshold": head.null_score_threshold,
        }
