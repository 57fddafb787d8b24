"""The file layouts of the data sets: GLUE TSVs, SNLI's parallel files, CoNLL/IOB, JSONL.

Each reader only turns lines into `RawExample`s; `TaskReader` does the rest.
"""

import csv
import json
from itertools import zip_longest
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Union

from allennlp.data import DatasetReader

from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.common.registered_names import register
from mtdnn_allennlp.data.dataset_readers.task_reader import (
    INPUT_FIELDS,
    OPTIONAL_INPUT_FIELDS,
    RawExample,
    TaskReader,
)

Column = Union[str, int]
OPTIONAL_FIELDS = ("id", "label")


@register(DatasetReader, "mtdnn_glue_tsv", deprecated_name="glue_tsv")
class GlueTsvReader(TaskReader):
    """A tab-separated file, read without quote handling (GLUE's texts contain bare quotes).

    # Parameters

    columns : `Dict[str, Union[str, int]]`
        Where each field is: `premise`, `hypothesis`, `label`, `id`, by header name or, with
        `header: false`, by position. `label` and `id` may be absent from a file (test sets).
    header : `bool`, optional (default = `True`)
        Whether the first line names the columns. A UTF-8 byte-order mark (MRPC) is dropped.
    unlabelled_header : `List[str]`, optional
        The header of a split laid out differently from the others (CoLA's test file has one
        while train and dev do not). A file whose first line is exactly this is read by name.
    """

    def __init__(
        self,
        columns: Dict[str, Column],
        header: bool = True,
        unlabelled_header: Optional[List[str]] = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.columns = columns
        self.header = header
        self.unlabelled_header = unlabelled_header

    def raw_examples(self, path: Path) -> Iterable[RawExample]:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            rows = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            first = next(rows, None)
            if first is None:
                return
            if self.unlabelled_header is not None and first == self.unlabelled_header:
                positions, width, start = self._unlabelled_positions(first), len(first), 2
            elif self.header:
                positions, width, start = self._positions_by_name(first, path), len(first), 2
            else:
                positions, width, start = self._positions_by_index(path), None, 1
                rows = _chain([first], rows)
            for line, row in enumerate(rows, start=start):
                if not row:
                    continue
                if width is not None and len(row) != width:
                    yield self._bad_row(
                        path,
                        line,
                        f"{len(row)} columns where the header has {width}.",
                        "a tab inside a text splits the row: remove it, or set "
                        "skip_invalid: true to skip such rows",
                    )
                    continue
                too_far = [name for name, position in positions.items() if position >= len(row)]
                if too_far:
                    yield self._bad_row(
                        path,
                        line,
                        f"{len(row)} columns, too few for the field {too_far[0]}.",
                        "check the row, or the reader's columns for this task",
                        too_far[0],
                    )
                    continue
                yield RawExample(line, {name: row[pos] for name, pos in positions.items()})

    def _positions_by_name(self, header: List[str], path: Path) -> Dict[str, int]:
        positions = {}
        for name, column in self.columns.items():
            if isinstance(column, int):
                positions[name] = column
            elif column in header:
                positions[name] = header.index(column)
            elif name not in OPTIONAL_FIELDS:
                raise DataError(
                    f"the header has no column '{column}'.",
                    file=str(path),
                    line=1,
                    task=self.task.name,
                    field=name,
                    fix=f"the header is {header}; set the reader's columns.{name} to one of them",
                )
        return positions

    def _unlabelled_positions(self, header: List[str]) -> Dict[str, int]:
        # The column positions describe the labelled splits, not this one. A field given by name
        # is looked up in this header; the others follow GLUE's test files: the id first, then
        # the input texts in order. There is no label.
        positions = {
            name: header.index(column)
            for name, column in self.columns.items()
            if name != "label" and isinstance(column, str) and column in header
        }
        inputs = [name for name in INPUT_FIELDS[self.task.data_format] if name not in positions]
        first_text = len(header) - len(inputs)
        positions.update((name, first_text + i) for i, name in enumerate(inputs))
        if "id" in self.columns and "id" not in positions and first_text > 0:
            positions["id"] = 0
        return positions

    def _positions_by_index(self, path: Path) -> Dict[str, int]:
        named = [name for name, column in self.columns.items() if not isinstance(column, int)]
        if named:
            raise DataError(
                f"columns {named} are given by name, but header is false.",
                file=str(path),
                task=self.task.name,
                fix="give column positions (0, 1, ...) or set header: true",
            )
        return dict(self.columns)  # type: ignore[arg-type]


def _chain(first: List, rest: Iterable) -> Iterable:
    yield from first
    yield from rest


@register(DatasetReader, "mtdnn_snli_parallel", deprecated_name="snli_parallel")
class SnliParallelReader(TaskReader):
    """SNLI as three parallel files: `s1.<split>` premises, `s2.<split>` hypotheses and
    `labels.<split>`. The data path names the `s1.<split>` file."""

    @staticmethod
    def _others(path: Path) -> Dict[str, Path]:
        split = path.name[len("s1.") :]
        return {name: path.with_name(f"{name}.{split}") for name in ("s2", "labels")}

    def source_files(self, path: Path) -> List[Path]:
        return [path, *(p for p in self._others(path).values() if p.is_file())]

    def raw_examples(self, path: Path) -> Iterable[RawExample]:
        if not path.name.startswith("s1."):
            raise DataError(
                "the SNLI reader needs the path of the s1.<split> file.",
                file=str(path),
                task=self.task.name,
                fix="point the data path at s1.dev, s1.test, ...",
            )
        split = path.name[len("s1.") :]
        others = self._others(path)
        for other in others.values():
            if not other.is_file():
                raise DataError(
                    f"the parallel file {other.name} is missing.",
                    file=str(other),
                    task=self.task.name,
                    fix="keep s1, s2 and labels files side by side",
                )
        handles = [open(p, encoding="utf-8") for p in (path, others["s2"], others["labels"])]
        names = [p.name for p in (path, *others.values())]
        try:
            # zip_longest: zip would drop the line it read from the longer files before stopping.
            for line, texts in enumerate(zip_longest(*handles), start=1):
                if None in texts:
                    ended = [name for name, text in zip(names, texts, strict=True) if text is None]
                    raise DataError(
                        f"the parallel files have different lengths ({ended} end after line "
                        f"{line - 1}, the others go on).",
                        file=str(path),
                        task=self.task.name,
                        fix="s1, s2 and labels must have one line per example each",
                    )
                premise, hypothesis, label = texts
                yield RawExample(
                    line,
                    {
                        "premise": premise.strip(),
                        "hypothesis": hypothesis.strip(),
                        "label": label.strip(),
                        "id": f"{split}-{line}",
                    },
                )
        finally:
            for handle in handles:
                handle.close()


@register(DatasetReader, "mtdnn_conll_iob", deprecated_name="conll_iob")
class ConllIobReader(TaskReader):
    """One token per line with its tag in a column, sentences separated by blank lines.

    Covers CoNLL-2003 (`token POS chunk NER`, space-separated, `-DOCSTART-` lines) and the
    BioNER IOB files (`token<TAB>tag`).

    # Parameters

    token_column : `int`, optional (default = `0`)
    tag_column : `int`, optional (default = `-1`)
    """

    def __init__(self, token_column: int = 0, tag_column: int = -1, **kwargs) -> None:
        super().__init__(**kwargs)
        self.token_column = token_column
        self.tag_column = tag_column

    def raw_examples(self, path: Path) -> Iterable[RawExample]:
        words: List[str] = []
        tags: List[str] = []
        start = 0
        with open(path, encoding="utf-8") as handle:
            for line, text in enumerate(handle, start=1):
                columns = text.split()
                if not columns or columns[0] == "-DOCSTART-":
                    if words:
                        yield RawExample(start, {"words": words, "tags": tags, "id": start})
                    words, tags = [], []
                    continue
                wanted = (self.token_column, self.tag_column)
                if len(columns) < 2 or not all(-len(columns) <= c < len(columns) for c in wanted):
                    yield self._bad_row(
                        path,
                        line,
                        f"'{text.strip()}' has no tag column.",
                        "write one token and its tag per line, sentences split by a blank line",
                        "tags",
                    )
                    continue
                if not words:
                    start = line
                words.append(columns[self.token_column])
                tags.append(columns[self.tag_column])
        if words:
            yield RawExample(start, {"words": words, "tags": tags, "id": start})


@register(DatasetReader, "mtdnn_jsonl", deprecated_name="jsonl")
class JsonlReader(TaskReader):
    """One JSON object per line with the task's fields: `premise` (and `hypothesis`) or
    `words`, plus `label` or `tags`, and an optional `id`. Multiple choice reads `context`
    and/or `question`, `choices` and `label` (index or text).

    # Parameters

    field_map : `Dict[str, str]`, optional
        Renames keys of the file to those fields, e.g. `{"sentence": "premise"}`.
    """

    def __init__(self, field_map: Optional[Dict[str, str]] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.field_map = field_map or {}

    def raw_examples(self, path: Path) -> Iterable[RawExample]:
        data_format = self.task.data_format
        known = set(INPUT_FIELDS[data_format]) | {"label", "tags", "id"}
        known |= set(OPTIONAL_INPUT_FIELDS.get(data_format, ()))
        with open(path, encoding="utf-8") as handle:
            for line, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    record = json.loads(text)
                except json.JSONDecodeError as error:
                    yield self._bad_row(
                        path, line, f"not valid JSON ({error.msg}).", "one JSON object per line"
                    )
                    continue
                if not isinstance(record, dict):
                    yield self._bad_row(
                        path, line, "the line is not a JSON object.", "one JSON object per line"
                    )
                    continue
                fields = {self.field_map.get(key, key): value for key, value in record.items()}
                yield RawExample(line, {k: v for k, v in fields.items() if k in known})
