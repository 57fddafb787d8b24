"""The base of every task reader: from a file's raw examples to instances, by data format.

A subclass knows one file layout and yields `RawExample`s (with line numbers) from it. This base
class does everything else once: it checks each example against the task definition (empty
text, unknown label, missing field), encodes it into word pieces, and builds the instance that
the multi-task loader and model expect. Bad rows raise a `DataError` naming the file, line,
task and field; `skip_invalid: true` skips and counts them instead.
"""

import logging
import math
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader, Instance, Token
from allennlp.data.fields import Field, LabelField, MetadataField, TensorField, TextField

from mtdnn_allennlp.common.environment import setting
from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.data.token_indexers import WordpieceIdsIndexer
from mtdnn_allennlp.data.tokenization import PieceEncoder
from mtdnn_allennlp.losses import IGNORE_INDEX
from mtdnn_allennlp.tasks import TaskDefinition

logger = logging.getLogger(__name__)

# The JSON keys of an example, by data format: used by readers, the JSONL layout and predictor.
INPUT_FIELDS = {
    "premise_only": ("premise",),
    "premise_and_one_hypothesis": ("premise", "hypothesis"),
    "sequence": ("words",),
    "text": ("text",),
    "question_and_context": ("question", "context"),
}
TARGET_FIELD = {"premise_only": "label", "premise_and_one_hypothesis": "label", "sequence": "tags"}


@dataclass
class RawExample:
    line: int
    fields: Dict[str, Any] = field(default_factory=dict)
    # A problem found while splitting the row; reported (or skipped) like any other bad row.
    error: Optional[DataError] = None


def resolve_data_file(file_path: str, task: Optional[str] = None) -> Path:
    path = Path(os.path.expanduser(str(file_path)))
    if path.is_file():
        return path
    raise DataError(
        "data file not found.",
        file=str(path),
        task=task,
        fix=(
            "the configs build data paths from the MTDNN_DATA environment variable "
            f"(now {setting('MTDNN_DATA')}; unset, it is the fixtures). Set MTDNN_DATA to the "
            "folder holding glue/, nli/ and ner/, e.g. export MTDNN_DATA=../shared/data"
        ),
    )


class TaskReader(DatasetReader):
    """
    # Parameters

    task : `TaskDefinition`
        The task the file holds examples of.
    encoder : `str`, optional (default = `"all-MiniLM-L6-v2"`)
        The encoder whose tokenizer splits the text (a name or a local folder).
    max_length : `int`, optional (default = `128`)
        Longest input in word pieces; longer ones are truncated and counted.
    label_map : `Dict[str, str]`, optional
        Maps the label values written in the file to the task's label names (e.g. `"0"` to
        `"entailment"`).
    skip_invalid : `bool`, optional (default = `False`)
        Skip and count bad rows instead of stopping at the first one.
    sample_size : `int`, optional
        Read a random subset of this many examples of each file, in file order (for training on
        a subset; unlike `max_instances`, which takes the first rows, it is not biased by the
        file's order, e.g. CoLA's train file is grouped by source).
    sample_seed : `int`, optional (default = `0`)
        Seeds the subset; the task name is mixed in, so tasks draw independently.
    """

    def __init__(
        self,
        task: TaskDefinition,
        encoder: str = "all-MiniLM-L6-v2",
        max_length: int = 128,
        label_map: Optional[Dict[str, str]] = None,
        skip_invalid: bool = False,
        sample_size: Optional[int] = None,
        sample_seed: int = 0,
        **kwargs,
    ) -> None:
        super().__init__(
            manual_distributed_sharding=True, manual_multiprocess_sharding=True, **kwargs
        )
        if sample_size is not None and sample_size < 1:
            raise ConfigurationError(f"Task '{task.name}': sample_size must be at least 1.")
        self.sample_size = sample_size
        self.sample_seed = sample_seed
        self.task = task
        self.encoder_name = encoder
        self.max_length = max_length
        self.label_map = label_map or {}
        self.skip_invalid = skip_invalid
        self._pieces: Optional[PieceEncoder] = None
        self.truncated = self.skipped = self.read_count = 0

    @property
    def pieces(self) -> PieceEncoder:
        if self._pieces is None:  # built on first use, so a reader can be configured offline
            self._pieces = PieceEncoder(self.encoder_name, self.max_length)
        return self._pieces

    # --- subclasses -----------------------------------------------------------------------

    def raw_examples(self, path: Path) -> Iterable[RawExample]:
        raise NotImplementedError

    def _bad_row(
        self, path: Path, line: int, problem: str, fix: str, field: Optional[str] = None
    ) -> RawExample:
        error = DataError(
            problem, file=str(path), line=line, task=self.task.name, field=field, fix=fix
        )
        return RawExample(line, error=error)

    # --- reading --------------------------------------------------------------------------

    def _read(self, file_path: str) -> Iterable[Instance]:
        path = resolve_data_file(file_path, self.task.name)
        self.truncated = self.skipped = self.read_count = 0
        examples: Iterable[RawExample] = self.raw_examples(path)
        if self.sample_size is not None:
            examples = self._sample(list(examples))
        for example in self.shard_iterable(examples):
            try:
                if example.error is not None:
                    raise example.error
                instances = self.instances_of(example)
            except DataError as error:
                located = error
                if error.file is None:
                    located = DataError(
                        error.problem,
                        file=str(path),
                        line=example.line,
                        task=self.task.name,
                        field=error.field,
                        fix=error.fix,
                    )
                if not self.skip_invalid:
                    raise located from None
                self.skipped += 1
                if self.skipped <= 5:
                    logger.warning("skipped: %s", located)
                continue
            self.read_count += 1
            yield from instances
        self._log_counts(path)

    def instances_of(self, example: RawExample) -> List[Instance]:
        """The instances of one example: one, except where a reader splits long inputs."""
        return [self.text_to_instance(**example.fields, line=example.line)]

    def _sample(self, examples: List[RawExample]) -> List[RawExample]:
        if self.sample_size is None or len(examples) <= self.sample_size:
            return examples
        rng = random.Random(f"{self.sample_seed}:{self.task.name}")
        chosen = sorted(rng.sample(range(len(examples)), self.sample_size))
        return [examples[index] for index in chosen]

    def _log_counts(self, path: Path) -> None:
        total = self.read_count + self.skipped
        if self.truncated:
            logger.info(
                "task %s: %d of %d examples in %s truncated to %d word pieces",
                self.task.name,
                self.truncated,
                total,
                path,
                self.max_length,
            )
        if self.skipped:
            logger.warning(
                "task %s: skipped %d invalid rows of %d in %s (skip_invalid is on)",
                self.task.name,
                self.skipped,
                total,
                path,
            )

    # --- one example ----------------------------------------------------------------------

    def text_to_instance(  # type: ignore[override]
        self,
        premise: Optional[str] = None,
        hypothesis: Optional[str] = None,
        words: Optional[List[str]] = None,
        label: Optional[Any] = None,
        tags: Optional[List[str]] = None,
        id: Optional[str] = None,
        line: Optional[int] = None,
    ) -> Instance:
        task = self.task
        metadata: Dict[str, Any] = {"id": id if id is not None else line, "task": task.name}
        fields: Dict[str, Field] = {}
        if task.data_format == "sequence":
            words = self._checked_words(words)
            encoded = self.pieces.encode_words(words)
            metadata.update(words=words, word_starts=encoded.word_starts, tags=tags)
            if tags is not None:
                fields["label"] = self._tag_field(
                    tags, words, encoded.word_starts, len(encoded.ids)
                )
        else:
            premise = self._checked_text(premise, "premise")
            if task.data_format == "premise_and_one_hypothesis":
                hypothesis = self._checked_text(hypothesis, "hypothesis")
            encoded = self.pieces.encode_texts(premise, hypothesis)
            metadata.update(premise=premise, hypothesis=hypothesis)
            if label is not None:
                fields["label"] = self._label_field(label)
        self.truncated += encoded.truncated
        tokens = [
            Token(text=piece, text_id=piece_id, type_id=type_id)
            for piece, piece_id, type_id in zip(
                encoded.pieces, encoded.ids, encoded.type_ids, strict=True
            )
        ]
        indexer = WordpieceIdsIndexer(pad_token_id=self.pieces.pad_token_id)
        fields["tokens"] = TextField(tokens, {"tokens": indexer})
        fields["task"] = MetadataField(task.name)
        fields["metadata"] = MetadataField(metadata)
        return Instance(fields)

    def apply_token_indexers(self, instance: Instance) -> None:
        pass  # the indexer is attached in text_to_instance: it carries the encoder's pad id

    def _checked_text(self, text: Any, name: str) -> str:
        if text is None:
            raise DataError(f"the example has no {name}.", field=name, fix=self._field_fix(name))
        if not isinstance(text, str) or not text.strip():
            raise DataError(
                f"{name} is empty.", field=name, fix="give every example a non-empty text"
            )
        return text

    def _checked_words(self, words: Any) -> List[str]:
        if not words:
            raise DataError(
                "the sentence has no words.", field="words", fix=self._field_fix("words")
            )
        if not all(isinstance(word, str) and word.strip() for word in words):
            raise DataError("a word is empty or not a string.", field="words")
        return list(words)

    def _field_fix(self, name: str) -> str:
        expected = ", ".join(INPUT_FIELDS[self.task.data_format])
        return (
            f"a '{self.task.data_format}' task reads: {expected}; check the reader's column "
            f"settings for task '{self.task.name}' (or the JSON keys)"
        )

    def _label_name(self, label: Any, field_name: str = "label") -> str:
        text = str(label).strip()
        return self.label_map.get(text, text)

    def _label_field(self, label: Any) -> Field:
        task = self.task
        if task.task_type == "regression":
            try:
                score = float(label)
            except (TypeError, ValueError):
                raise DataError(
                    f"label '{label}' is not a number.",
                    field="label",
                    fix="a regression task needs a numeric score in its label column",
                ) from None
            if math.isnan(score):
                raise DataError("label is NaN.", field="label", fix="give a numeric score")
            return TensorField(torch.tensor(score, dtype=torch.float32))
        return LabelField(
            self._index_of(self._label_name(label), "label"),
            label_namespace=f"{task.name}_labels",
            skip_indexing=True,
        )

    def _index_of(self, name: str, field_name: str) -> int:
        try:
            return self.task.label_index(name)
        except KeyError:
            mapped = " (after label_map)" if self.label_map else ""
            raise DataError(
                f"unknown label '{name}'{mapped}.",
                field=field_name,
                fix=(
                    f"task '{self.task.name}' declares labels {self.task.labels}; fix the row, "
                    "add the label to the task's labels, or map it with the reader's label_map"
                ),
            ) from None

    def _tag_field(
        self, tags: List[Any], words: List[str], word_starts: List[int], length: int
    ) -> Field:
        if len(tags) != len(words):
            raise DataError(
                f"{len(words)} words but {len(tags)} tags.",
                field="tags",
                fix="give exactly one tag per word",
            )
        # One label per word, on its first word piece; every other position carries no loss.
        targets = [IGNORE_INDEX] * length
        for tag, start in zip(tags, word_starts, strict=True):
            index = self._index_of(self._label_name(tag, "tags"), "tags")
            if start >= 0:
                targets[start] = index
        return TensorField(torch.tensor(targets, dtype=torch.long), padding_value=IGNORE_INDEX)
