"""The base of every task reader: from a file's raw examples to instances, by data format.

A subclass knows one file layout and yields `RawExample`s (with line numbers) from it. This base
class does everything else once: it checks each example against the task definition (empty
text, unknown label, missing field), encodes it into word pieces, and builds the instance that
the multi-task loader and model expect. Bad rows raise a `DataError` naming the file, line,
task and field; `skip_invalid: true` skips and counts them instead.
"""

import itertools
import logging
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.common.util import is_distributed
from allennlp.data import DatasetReader, Instance
from allennlp.data.fields import Field, LabelField, ListField, MetadataField, TensorField

from mtdnn_allennlp.common.environment import setting
from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.compat import allennlp_internals
from mtdnn_allennlp.data.dataset_readers import tokenization_cache
from mtdnn_allennlp.data.fields import WordPiecesField
from mtdnn_allennlp.data.token_indexers import WordpieceIdsIndexer
from mtdnn_allennlp.data.tokenization import PieceEncoder
from mtdnn_allennlp.losses import IGNORE_INDEX
from mtdnn_allennlp.tasks import TaskDefinition
from mtdnn_allennlp.tasks.types import data_format, example_keys

logger = logging.getLogger(__name__)


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


def _undecodable_line(path: Path, encoding: str) -> Tuple[Optional[int], Optional[int]]:
    """The first line of a file that does not decode, and the byte where it stops."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError as error:
                return number, error.start
    return None, None


def _unexpected_value(error: Exception) -> DataError:
    return DataError(
        f"a value has an unexpected type or shape ({type(error).__name__}: {error}).",
        fix="check this row against the task's data format (docs/task_library.md)",
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
    sample_held_out : `bool`, optional (default = `False`)
        Read the examples that the subset leaves out instead, in file order: with the same
        `sample_size` and `sample_seed`, a held-out part of a training file for choosing
        settings without touching the dev set.
    cache_directory : `str`, optional
        Keep each file's tokenised instances here and reuse them in later runs. The key hashes
        the file's content, the tokenizer's files and this reader's settings, so any change to
        them tokenises again (see `tokenization_cache`).
    blank : `str`, optional
        Multiple choice only: cloze examples. Each choice is put in place of this marker
        (e.g. `"_"`) in the question, or in the context when the question has no marker
        (docs/multiple_choice.md).
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
        sample_held_out: bool = False,
        cache_directory: Optional[str] = None,
        blank: Optional[str] = None,
        **kwargs,
    ) -> None:
        super().__init__(
            manual_distributed_sharding=True, manual_multiprocess_sharding=True, **kwargs
        )
        if blank is not None and (task.data_format != "multiple_choice" or not blank.strip()):
            raise ConfigurationError(
                f"Task '{task.name}': the reader's blank marker is for multiple_choice tasks "
                "and must be a non-empty text such as '_'; remove it or fix the data_format."
            )
        self.blank = blank
        self.cache_directory = (
            Path(os.path.expanduser(cache_directory)) if cache_directory else None
        )
        if sample_size is not None and sample_size < 1:
            raise ConfigurationError(f"Task '{task.name}': sample_size must be at least 1.")
        if sample_held_out and sample_size is None:
            raise ConfigurationError(
                f"Task '{task.name}': sample_held_out reads what a sample leaves out, but no "
                "sample_size is set; give the sample's size and seed too."
            )
        self.sample_size = sample_size
        self.sample_seed = sample_seed
        self.sample_held_out = sample_held_out
        self.task = task
        self.encoder_name = encoder
        self.max_length = max_length
        self.label_map = label_map or {}
        self.skip_invalid = skip_invalid
        self._pieces: Optional[PieceEncoder] = None
        self._indexer: Optional[WordpieceIdsIndexer] = None  # one for all the reader's fields
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

    def source_files(self, path: Path) -> List[Path]:
        """Every file read for this data path (the tokenisation cache hashes their content)."""
        return [path]

    # allennlp's readers keep only their worker's share of a file (and of max_instances) under
    # distributed training. The multi-task loader deals out whole batches itself, so it makes
    # its readers read whole files with `read_whole_files()`.
    shard_by_worker = True

    def read_whole_files(self) -> None:
        self.shard_by_worker = False
        allennlp_internals.clear_distributed_info(self)

    def shard_iterable(self, iterable: Iterable[Any]) -> Iterator[Any]:
        if self.shard_by_worker:
            return super().shard_iterable(iterable)
        return itertools.islice(iterable, self.max_instances)

    def resolve_path(self, file_path: str) -> Path:
        """The data path as read: a file by default (a layout may read folders)."""
        return resolve_data_file(file_path, self.task.name)

    def _read(self, file_path: str) -> Iterable[Instance]:
        path = self.resolve_path(file_path)
        self.truncated = self.skipped = self.read_count = 0
        if self.cache_directory is not None:
            yield from self._read_cached(path)
        else:
            for instances, _ in self._build_all(self.shard_iterable(self._examples(path)), path):
                if instances is not None:
                    self.read_count += 1
                    yield from instances
        self._log_counts(path)

    def _examples(self, path: Path) -> Iterable[RawExample]:
        examples: Iterable[RawExample] = self._guarded(path, self.raw_examples(path))
        if self.sample_size is not None:
            examples = self._sample(list(examples))
        return examples

    def _guarded(self, path: Path, examples: Iterable[RawExample]) -> Iterator[RawExample]:
        """The file's examples; a decoding or shape error that a layout did not locate names
        the file and the line after the last good example."""
        line = 0
        try:
            for example in examples:
                line = example.line
                yield example
        except UnicodeDecodeError as error:
            # Text files decode ahead in chunks: find the line itself.
            bad_line, column = _undecodable_line(path, error.encoding)
            raise DataError(
                f"not {error.encoding} text: {error.reason} at byte {column} of the line.",
                file=str(path),
                line=bad_line,
                task=self.task.name,
                fix="save the file as UTF-8 (or remove the line)",
            ) from None
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as error:
            unexpected = _unexpected_value(error)
            raise DataError(
                f"after line {line}: {unexpected.problem}",
                file=str(path),
                task=self.task.name,
                fix=unexpected.fix,
            ) from None

    # Examples read ahead and tokenised in one call: large enough that the tokenizer's per-call
    # cost vanishes, small enough that a lazy read holds little at once.
    CHUNK = 1024

    def _build_all(
        self, examples: Iterable[RawExample], path: Path
    ) -> Iterator[Tuple[Optional[List[Instance]], bool]]:
        """`_build` of each example, a chunk at a time: the word pieces of a chunk's inputs are
        encoded in one tokenizer call (`request_pieces`, `PieceEncoder.encode_requested`)."""
        iterator = iter(examples)
        while chunk := list(itertools.islice(iterator, self.CHUNK)):
            for example in chunk:
                if example.error is None:
                    self.request_pieces(example)
            self.pieces.encode_requested()
            try:
                for example in chunk:
                    yield self._build(example, path)
            finally:
                self.pieces.forget_requested()

    def request_pieces(self, example: RawExample) -> None:
        """Announces the texts (or words) that building `example` will encode (the data
        format's `request_pieces`), so that they are encoded with the rest of the chunk."""
        data_format(self.task.data_format).request_pieces(self, example.fields)

    def _build(self, example: RawExample, path: Path) -> Tuple[Optional[List[Instance]], bool]:
        """The example's instances (None if skipped) and whether it was truncated."""
        truncated_before = self.truncated
        try:
            if example.error is not None:
                raise example.error
            instances = self.instances_of(example)
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as error:
            # A value of the wrong shape (e.g. a number where a list belongs) that no check
            # caught: located like any bad row, and never a TypeError, which allennlp's trainer
            # would take for a loader without a length.
            return self._build(RawExample(example.line, error=_unexpected_value(error)), path)
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
            return None, False
        return instances, self.truncated > truncated_before

    # --- the tokenisation cache -------------------------------------------------------------

    # The settings that define the instances a reader makes, by attribute name: the cache key
    # is built from exactly these (with the task, the reader class, the data files and the
    # tokenizer). Each subclass lists its own; `cache_settings` adds them up along the classes
    # it inherits from. Left out on purpose: counters (truncated, skipped...), the cache folder,
    # `max_instances` and worker sharding (the entry is the whole file, or the prefix `limit`
    # that the key names itself), and the encoder's name (its tokenizer files are hashed).
    CACHE_SETTINGS: Tuple[str, ...] = (
        "max_length",
        "label_map",
        "skip_invalid",  # skipped rows are stored as such: a strict run must not reuse them
        "sample_size",
        "sample_seed",
        "sample_held_out",
        "blank",
    )

    def cache_settings(self) -> Dict[str, Any]:
        """The settings that define this reader's instances, as JSON values (see
        `CACHE_SETTINGS`): stable across instances and processes, never an object's repr."""
        names = [
            name
            for cls in reversed(type(self).__mro__)
            for name in vars(cls).get("CACHE_SETTINGS", ())
        ]
        settings: Dict[str, Any] = {name: getattr(self, name) for name in names}
        task = self.task
        settings["task"] = [task.name, task.task_type, task.data_format, task.labels, task.reader]
        settings["reader"] = f"{type(self).__module__}.{type(self).__qualname__}"
        return settings

    def cache_file(self, path: Path, limit: Optional[int]) -> Path:
        assert self.cache_directory is not None
        settings = dict(self.cache_settings(), limit=limit)
        key = tokenization_cache.cache_key(self.source_files(path), self.encoder_name, settings)
        return self.cache_directory / f"{self.task.name}-{key[:32]}.json"

    def _read_cached(self, path: Path) -> Iterator[Instance]:
        # The cache holds the whole file's entries before sharding, so every worker of a
        # distributed run reuses one entry. With max_instances set, only the examples that some
        # worker can take are built.
        limit = None
        if self.max_instances is not None:
            worker_info = self.get_worker_info()
            workers = worker_info.num_workers if worker_info is not None else 1
            world = torch.distributed.get_world_size() if is_distributed() else 1
            limit = self.max_instances * workers * world
        cache_file = self.cache_file(path, limit)
        entries = tokenization_cache.load_entries(cache_file)
        if entries is not None:
            logger.info("task %s: tokenised instances from cache %s", self.task.name, cache_file)
        else:
            examples = itertools.islice(self._examples(path), limit)
            entries = list(self._build_all(examples, path))
            tokenization_cache.save_entries(cache_file, entries)
            logger.info("task %s: tokenised instances cached in %s", self.task.name, cache_file)
        self.truncated = self.skipped = 0
        for instances, truncated in self.shard_iterable(entries):
            if instances is None:
                self.skipped += 1
                continue
            self.truncated += truncated
            self.read_count += 1
            yield from instances

    def instances_of(self, example: RawExample) -> List[Instance]:
        """The instances of one example: one, except where a reader splits long inputs."""
        return [self.text_to_instance(**example.fields, line=example.line)]

    def _sample(self, examples: List[RawExample]) -> List[RawExample]:
        if self.sample_size is None or len(examples) <= self.sample_size:
            return [] if self.sample_held_out else examples
        rng = random.Random(f"{self.sample_seed}:{self.task.name}")
        chosen = set(rng.sample(range(len(examples)), self.sample_size))
        return [
            example
            for index, example in enumerate(examples)
            if (index in chosen) != self.sample_held_out
        ]

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
        self, id: Optional[Any] = None, line: Optional[int] = None, **example: Any
    ) -> Instance:
        """One example's instance. `example` holds the keys of the task's data format (its
        inputs, and its target when known: `DataFormat` in tasks/types/); the format builds the
        instance, and the task type its target field. Keys of other data formats are ignored,
        as a layout may read them for every format."""
        if not example_keys().issuperset(example):
            unknown = sorted(set(example) - example_keys())
            raise TypeError(f"text_to_instance() got unexpected keys {unknown}")
        task = self.task
        layout = data_format(task.data_format)
        metadata: Dict[str, Any] = {"id": id if id is not None else line, "task": task.name}
        inputs = {key: example.get(key) for key in (*layout.input_fields, *layout.optional_fields)}
        target = example.get(layout.target_field) if layout.target_field else None
        return layout.build(self, inputs, target, metadata)

    def _finish_instance(
        self, fields: Dict[str, Field], encoded: Any, metadata: Dict[str, Any]
    ) -> Instance:
        """The instance of one encoded text (pair): `fields` (the target) and the tokens, task
        and metadata fields; counts truncation."""
        self.truncated += encoded.truncated
        if encoded.truncated:  # the predictor says so in the example's output
            metadata["truncated"] = True
        fields["tokens"] = self.pieces_field(encoded.ids, encoded.type_ids)
        fields["task"] = MetadataField(self.task.name)
        fields["metadata"] = MetadataField(metadata)
        return Instance(fields)

    def pieces_field(self, ids: List[int], type_ids: List[int]) -> WordPiecesField:
        """The `tokens` field of an encoded text (pair)."""
        if self._indexer is None:
            self._indexer = WordpieceIdsIndexer(pad_token_id=self.pieces.pad_token_id)
        return WordPiecesField(ids, type_ids, self._indexer)

    def _candidates_instance(
        self, pairs: List[WordPiecesField], metadata: Dict[str, Any], index: Optional[int]
    ) -> Instance:
        """An example with several (text, candidate) pairs, ranking's and multiple choice's:
        `tokens` pads to (batch, candidates, pieces); `label` is the right candidate's index."""
        fields: Dict[str, Field] = {"tokens": ListField(pairs)}
        if index is not None:
            metadata["label"] = index
            fields["label"] = LabelField(
                index, label_namespace=f"{self.task.name}_labels", skip_indexing=True
            )
        fields["task"] = MetadataField(self.task.name)
        fields["metadata"] = MetadataField(metadata)
        return Instance(fields)

    def apply_token_indexers(self, instance: Instance) -> None:
        pass  # the indexer is attached in text_to_instance: it carries the encoder's pad id

    def _checked_text(self, text: Any, name: str) -> str:
        if text is None:
            raise DataError(f"the example has no {name}.", field=name, fix=self._field_fix(name))
        if not isinstance(text, str):
            raise DataError(
                f"{name} is a {type(text).__name__}, not a text.",
                field=name,
                fix=f"give {name} as one string",
            )
        if not text.strip():
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
        expected = ", ".join(data_format(self.task.data_format).input_fields)
        return (
            f"a '{self.task.data_format}' task reads: {expected}; check the reader's column "
            f"settings for task '{self.task.name}' (or the JSON keys)"
        )

    def _label_name(self, label: Any, field_name: str = "label") -> str:
        text = str(label).strip()
        return self.label_map.get(text, text)

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
