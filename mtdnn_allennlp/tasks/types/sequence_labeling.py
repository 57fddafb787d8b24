"""Sequence labelling (NER, tagging): one tag per word, read at the word's first word piece."""

from typing import Any, Dict, List, Optional

import torch
from allennlp.data import Instance

from mtdnn_allennlp.tasks.types.base import (
    DataFormat,
    ExampleMetadata,
    SoftTargetForm,
    TaskType,
    average_per_word,
    check_probability_rows,
    log_probabilities,
    probabilities_of,
    register_data_format,
    register_soft_target_form,
)


class WordsMetadata(ExampleMetadata, total=False):
    words: List[str]
    word_starts: List[int]  # each word's first word piece (-1: truncated away)
    tags: Optional[List[str]]


class SequenceFormat(DataFormat):
    """`{"words": [...], "tags": [...]}`: pre-split words, one tag each."""

    name = "sequence"
    input_fields = ("words",)
    target_field = "tags"

    def build(self, reader, inputs, target, metadata) -> Instance:
        words = reader._checked_words(inputs.get("words"))
        encoded = reader.pieces.encode_words(words)
        metadata.update(WordsMetadata(words=words, word_starts=encoded.word_starts, tags=target))
        fields = {}
        if target is not None:
            fields["label"] = reader._tag_field(
                target, words, encoded.word_starts, len(encoded.ids)
            )
        return reader._finish_instance(fields, encoded, metadata)

    def request_pieces(self, reader, example) -> None:
        reader.pieces.request_words(example.get("words"))


register_data_format(SequenceFormat())


class PerWordForm(SoftTargetForm):
    """`{"probabilities": [[...], null, ...]}`: one distribution per word (null for a word that
    truncation left without a piece); teachers are averaged per word."""

    name = "probabilities per word"

    def holds(self, record):
        probabilities = record.get("probabilities")
        return (
            isinstance(probabilities, list)
            and bool(probabilities)
            and isinstance(probabilities[0], (list, type(None)))
        )

    def average(self, rows):
        merged = {"task": rows[0]["task"], "id": rows[0]["id"]}
        merged["probabilities"] = average_per_word([row["probabilities"] for row in rows])
        return merged


PER_WORD_FORM = register_soft_target_form(PerWordForm())


@TaskType.register("sequence_labeling")
class SequenceLabeling(TaskType):
    loss = "sequence_cross_entropy"
    kd_loss = "kl_divergence"
    adv_loss = "symmetric_kl"
    head = "sequence_labeling"
    metrics = ("span_f1",)
    data_formats = ("sequence",)
    has_labels = True
    soft_target_form = PER_WORD_FORM
    onnx_per_piece = True

    def gold_value(self, task, instance):
        return instance["metadata"].metadata["tags"]

    def update_metrics(self, task, head, metrics, logits, label, metadata) -> None:
        metrics.add(head.word_tags(logits, metadata), [each["tags"] for each in metadata])

    def readable(self, task, head, logits, metadata) -> Dict[str, List[Any]]:
        return {
            "words": [each["words"] for each in metadata],
            "tags": head.word_tags(logits, metadata),
        }

    def soft_record(self, task, logits, metadata, candidates):
        probabilities = logits.softmax(-1)
        return {
            "probabilities": [
                probabilities[start].tolist() if start >= 0 else None
                for start in metadata["word_starts"]
            ]
        }

    def check_soft_record(self, task, record, fail) -> None:
        rows = [row for row in probabilities_of(task, record, fail) if row is not None]
        check_probability_rows(task, rows, fail)

    def soft_target(self, task, record, metadata, length, mismatch):
        per_word = record["probabilities"]
        starts = metadata.get("word_starts") or []
        if len(per_word) != len(starts):
            raise mismatch(len(per_word), len(starts), "words", "probabilities")
        target = torch.zeros(length, task.n_class)
        mask = torch.zeros(length, dtype=torch.bool)
        for start, row in zip(starts, per_word, strict=True):
            if start >= 0 and row is not None:
                target[start] = log_probabilities(row)
                mask[start] = True
        return target, mask

    def onnx_heads(self):
        from mtdnn_allennlp.models.heads.task_head import SequenceLabelingHead

        return (SequenceLabelingHead,)

    def onnx_settings(self, task, head, task_reader) -> Dict:
        """The tag transitions the head's constrained decoding allows, for predict_onnx.py to
        decode the same valid tag sequences."""
        transitions = getattr(head, "transitions", None)
        return {} if transitions is None else {"transitions": transitions.as_lists()}
