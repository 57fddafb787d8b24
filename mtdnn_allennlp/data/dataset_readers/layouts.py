"""The file layouts of the data sets: delimited text (GLUE TSVs), lines matched by a pattern,
SNLI's parallel files, CoNLL/IOB, JSONL.

Each reader only turns lines into `RawExample`s; `TaskReader` does the rest. The line-based
layouts share `TextLinesReader`: each line is decoded on its own, so a byte that the file's
encoding cannot decode is a bad row with its line number (skippable with `skip_invalid`), not a
crash somewhere in the file.
"""

import codecs
import csv
import json
import re
from itertools import zip_longest
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Tuple, Union

from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader

from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.common.registered_names import register
from mtdnn_allennlp.data.dataset_readers.task_reader import (
    RawExample,
    TaskReader,
)
from mtdnn_allennlp.tasks.types import data_format as format_of

Column = Union[str, int]
OPTIONAL_FIELDS = ("id", "label")
BYTE_ORDER_MARK = "\ufeff"


class TextLinesReader(TaskReader):
    """A layout read line by line, in a declared text encoding.

    # Parameters

    encoding : `str`, optional (default = `"utf-8"`)
        The file's text encoding: any Python codec in which a line ends with the byte `\\n`
        (utf-8, latin-1, cp1252, ...). A UTF-8 byte-order mark at the start is dropped.
    errors : `str`, optional (default = `"strict"`)
        What to do with bytes the encoding cannot decode: `"strict"` makes the line a bad row
        (an error naming the file and line, or skipped with `skip_invalid`); `"replace"`,
        `"ignore"` or `"backslashreplace"` decode it anyway (Python's codec error handlers).
    """

    CACHE_SETTINGS = ("encoding", "errors")

    def __init__(self, encoding: str = "utf-8", errors: str = "strict", **kwargs) -> None:
        super().__init__(**kwargs)
        try:
            codecs.lookup(encoding)
            codecs.lookup_error(errors)
        except LookupError as error:
            raise ConfigurationError(
                f"Task '{self.task.name}': {error}. Set the reader's encoding to a Python codec "
                "(utf-8, latin-1, cp1252...) and errors to strict, replace, ignore or "
                "backslashreplace."
            ) from None
        if "\n".encode(encoding) != b"\n":
            raise ConfigurationError(
                f"Task '{self.task.name}': the encoding {encoding} does not end lines with the "
                "byte \\n, so the file cannot be read line by line. Convert it to UTF-8 first "
                "(e.g. iconv -f utf-16 -t utf-8)."
            )
        self.encoding = encoding
        self.errors = errors

    def decoded_lines(self, path: Path) -> Iterator[Tuple[int, Union[str, RawExample]]]:
        """`(line number, text)` for each line, its line ending kept; a line that does not
        decode comes as `(line number, bad row)`."""
        with open(path, "rb") as handle:
            for line, raw in enumerate(handle, start=1):
                try:
                    text = raw.decode(self.encoding, self.errors)
                except UnicodeDecodeError as error:
                    yield line, self._bad_row(
                        path,
                        line,
                        f"byte {raw[error.start:error.start + 1]!r} at byte {error.start + 1} "
                        f"of the line is not valid {self.encoding}.",
                        "set the reader's encoding to the file's (e.g. encoding: 'latin-1'), "
                        "or errors: 'replace' to keep such lines, or skip_invalid: true",
                    )
                    continue
                if line == 1 and text.startswith(BYTE_ORDER_MARK):
                    text = text[1:]
                yield line, text


@DatasetReader.register("mtdnn_delimited")
class DelimitedReader(TextLinesReader):
    """One example per line, its fields split by a separator: TSV, CSV, `|`-separated, ...

    # Parameters

    columns : `Dict[str, Union[str, int]]`
        Where each field is: `premise`, `hypothesis`, `label`, `id`, by header name or by
        position (0-based; positions work with or without a header). `label` and `id` may be
        absent from a file (test sets).
    separator : `str`, optional (default = `"\\t"`)
        The text between fields; any string, several characters too (e.g. `" ||| "`).
    quoting : `bool`, optional (default = `False`)
        Whether fields may be quoted with `"` (CSV-style: a quoted field may hold the separator,
        `""` is a quote, a field may span lines). Off by default, since GLUE's texts hold bare
        quotes. Needs a one-character separator.
    header : `bool`, optional (default = `True`)
        Whether the first line names the columns.
    unlabelled_header : `List[str]`, optional
        The header of a split laid out differently from the others (CoLA's test file has one
        while train and dev do not). A file whose first line is exactly this is read by name.
    encoding, errors : see `TextLinesReader`.
    """

    CACHE_SETTINGS = ("columns", "separator", "quoting", "header", "unlabelled_header")

    def __init__(
        self,
        columns: Dict[str, Column],
        separator: str = "\t",
        quoting: bool = False,
        header: bool = True,
        unlabelled_header: Optional[List[str]] = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if not separator:
            raise ConfigurationError(f"Task '{self.task.name}': the separator is empty.")
        if quoting and len(separator) != 1:
            raise ConfigurationError(
                f"Task '{self.task.name}': quoting needs a one-character separator, not "
                f"{separator!r}; set quoting: false or use a single character."
            )
        self.columns = columns
        self.separator = separator
        self.quoting = quoting
        self.header = header
        self.unlabelled_header = unlabelled_header

    def _rows(self, path: Path) -> Iterator[Tuple[int, Union[List[str], RawExample]]]:
        """`(line, fields)` per non-empty row, or `(line, bad row)`."""
        if not self.quoting:
            for line, text in self.decoded_lines(path):
                if isinstance(text, RawExample):
                    yield line, text
                    continue
                text = text.rstrip("\r\n")
                if text:
                    yield line, text.split(self.separator)
            return
        yield from self._quoted_rows(path)

    def _quoted_rows(self, path: Path) -> Iterator[Tuple[int, Union[List[str], RawExample]]]:
        # csv pulls as many lines as a quoted field spans; a line that did not decode is kept
        # aside and reported for the row that holds it.
        undecoded: Dict[int, RawExample] = {}

        def texts() -> Iterator[str]:
            for line, text in self.decoded_lines(path):
                if isinstance(text, RawExample):
                    undecoded[line] = text
                    yield "\n"
                else:
                    yield text

        rows = csv.reader(texts(), delimiter=self.separator, quotechar='"', strict=True)
        first_line = 1
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except csv.Error as error:
                yield rows.line_num, self._bad_row(
                    path,
                    rows.line_num,
                    f"the row cannot be split: {error}.",
                    "check the quotes of the row (a quote inside a quoted field is written "
                    '""), or set quoting: false',
                )
                first_line = rows.line_num + 1
                continue
            lines = range(first_line, rows.line_num + 1)
            first_line = rows.line_num + 1
            bad = [undecoded.pop(line) for line in lines if line in undecoded]
            if bad:
                yield bad[0].line, bad[0]
            elif row:
                yield lines[0], row

    def raw_examples(self, path: Path) -> Iterable[RawExample]:
        rows = self._rows(path)
        first_line, first = next(rows, (0, None))
        if first is None:
            return
        if isinstance(first, RawExample):
            yield first
            return
        if self.unlabelled_header is not None and first == self.unlabelled_header:
            positions, width = self._unlabelled_positions(first), len(first)
        elif self.header:
            positions, width = self._positions_by_name(first, path), len(first)
        else:
            positions, width = self._positions_by_index(path), None
            rows = _chain([(first_line, first)], rows)
        for line, row in rows:
            if isinstance(row, RawExample):
                yield row
                continue
            if width is not None and len(row) != width:
                yield self._bad_row(
                    path,
                    line,
                    f"{len(row)} columns where the header has {width}.",
                    f"a separator ({self.separator!r}) inside a text splits the row: remove "
                    "it, or set skip_invalid: true to skip such rows",
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
                    fix=self._header_fix(header, name),
                )
        return positions

    def _header_fix(self, header: List[str], name: str) -> str:
        if _looks_like_data(header, self.task.labels or [], self.label_map):
            return (
                f"the first line {header} looks like data, not a header: this file has no "
                "header. Set the reader's header: false and give the columns by position "
                "(0, 1, ...), e.g. with a layout for this file (docs/task_library.md)"
            )
        return f"the header is {header}; set the reader's columns.{name} to one of them"

    def _unlabelled_positions(self, header: List[str]) -> Dict[str, int]:
        # The column positions describe the labelled splits, not this one. A field given by name
        # is looked up in this header; the others follow GLUE's test files: the id first, then
        # the input texts in order. There is no label.
        positions = {
            name: header.index(column)
            for name, column in self.columns.items()
            if name != "label" and isinstance(column, str) and column in header
        }
        inputs = [
            name for name in format_of(self.task.data_format).input_fields if name not in positions
        ]
        first_text = len(header) - len(inputs)
        positions.update((name, first_text + i) for i, name in enumerate(inputs))
        if "id" not in positions and first_text > 0:
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


@register(DatasetReader, "mtdnn_glue_tsv", deprecated_name="glue_tsv")
class GlueTsvReader(DelimitedReader):
    """GLUE's tab-separated files: `mtdnn_delimited` with its defaults (a tab, no quote
    handling, since GLUE's texts contain bare quotes; a header; UTF-8, its byte-order mark, as
    in MRPC, dropped). Takes the same parameters."""


def _looks_like_data(row: List[str], labels: List[str], label_map: Dict[str, str]) -> bool:
    """Whether a first line is more likely an example than column names: a cell is a number, a
    declared label, or a text of several words."""

    def is_number(cell: str) -> bool:
        try:
            float(cell)
        except ValueError:
            return False
        return True

    known = set(labels) | set(label_map)
    return any(
        is_number(cell.strip()) or cell.strip() in known or len(cell.split()) > 3 for cell in row
    )


@DatasetReader.register("mtdnn_regex")
class RegexReader(TextLinesReader):
    """One example per line, its fields taken from a regular expression's named groups: for
    formats like TREC's `LABEL:fine question text`.

    # Parameters

    pattern : `str`
        A Python regular expression that matches a whole line (without its line ending), with
        one named group per field: `(?P<label>...)`, `(?P<premise>...)`, ... A line it does not
        match is a bad row. Blank lines are skipped.
    field_map : `Dict[str, str]`, optional
        Renames groups to fields, e.g. `{"question": "premise"}`.
    encoding, errors : see `TextLinesReader`.
    """

    CACHE_SETTINGS = ("pattern", "field_map")

    def __init__(self, pattern: str, field_map: Optional[Dict[str, str]] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        try:
            self.compiled = re.compile(pattern)
        except re.error as error:
            raise ConfigurationError(
                f"Task '{self.task.name}': the reader's pattern does not compile: {error}."
            ) from None
        self.pattern = pattern
        self.field_map = field_map or {}
        fields = {self.field_map.get(group, group) for group in self.compiled.groupindex}
        missing = [
            name for name in format_of(self.task.data_format).input_fields if name not in fields
        ]
        if missing:
            raise ConfigurationError(
                f"Task '{self.task.name}': the reader's pattern has no group for {missing}. "
                f"Name a group after each field, e.g. (?P<{missing[0]}>.+), or map a group to "
                "it with field_map."
            )

    def raw_examples(self, path: Path) -> Iterable[RawExample]:
        for line, text in self.decoded_lines(path):
            if isinstance(text, RawExample):
                yield text
                continue
            text = text.rstrip("\r\n")
            if not text.strip():
                continue
            match = self.compiled.fullmatch(text)
            if match is None:
                yield self._bad_row(
                    path,
                    line,
                    f"the line does not match the reader's pattern: {text[:60]!r}.",
                    f"fix the line, or the pattern {self.pattern!r}; skip_invalid: true skips "
                    "such lines",
                )
                continue
            fields = {
                self.field_map.get(group, group): value
                for group, value in match.groupdict().items()
                if value is not None
            }
            yield RawExample(line, fields)


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
class ConllIobReader(TextLinesReader):
    """One token per line with its tag in a column, sentences separated by blank lines.

    Covers CoNLL-2003 (`token POS chunk NER`, space-separated, `-DOCSTART-` lines) and the
    BioNER IOB files (`token<TAB>tag`).

    # Parameters

    token_column : `int`, optional (default = `0`)
    tag_column : `int`, optional (default = `-1`)
    encoding, errors : see `TextLinesReader`.
    """

    CACHE_SETTINGS = ("token_column", "tag_column")

    def __init__(self, token_column: int = 0, tag_column: int = -1, **kwargs) -> None:
        super().__init__(**kwargs)
        self.token_column = token_column
        self.tag_column = tag_column

    def raw_examples(self, path: Path) -> Iterable[RawExample]:
        words: List[str] = []
        tags: List[str] = []
        start = 0
        bad_tag: Optional[RawExample] = None  # the sentence's first unknown tag, at its line
        for line, text in self.decoded_lines(path):
            if isinstance(text, RawExample):
                yield text
                continue
            columns = text.split()
            if not columns or columns[0] == "-DOCSTART-":
                if words:
                    yield bad_tag or RawExample(start, {"words": words, "tags": tags, "id": start})
                words, tags, bad_tag = [], [], None
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
            if bad_tag is None:
                bad_tag = self._unknown_tag(path, line, tags[-1])
        if words:
            yield bad_tag or RawExample(start, {"words": words, "tags": tags, "id": start})

    def _unknown_tag(self, path: Path, line: int, tag: str) -> Optional[RawExample]:
        """A bad row at the tag's own line when the task does not declare the tag."""
        try:
            self._index_of(self._label_name(tag, "tags"), "tags")
        except DataError as error:
            return self._bad_row(path, line, error.problem, error.fix or "", "tags")
        return None


@register(DatasetReader, "mtdnn_jsonl", deprecated_name="jsonl")
class JsonlReader(TextLinesReader):
    """One JSON object per line with the task's fields: `premise` (and `hypothesis`) or
    `words`, plus `label` or `tags`, and an optional `id`. Multiple choice reads `context`
    and/or `question`, `choices` and `label` (index or text).

    # Parameters

    field_map : `Dict[str, str]`, optional
        Renames keys of the file to those fields, e.g. `{"sentence": "premise"}`.
    encoding, errors : see `TextLinesReader`.
    """

    CACHE_SETTINGS = ("field_map",)

    def __init__(self, field_map: Optional[Dict[str, str]] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.field_map = field_map or {}

    def raw_examples(self, path: Path) -> Iterable[RawExample]:
        data_format = self.task.data_format
        known = set(format_of(data_format).input_fields) | {"label", "tags", "id"}
        known |= set(format_of(data_format).optional_fields)
        for line, text in self.decoded_lines(path):
            if isinstance(text, RawExample):
                yield text
                continue
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
