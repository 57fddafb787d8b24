"""MT-DNN's own files, and pairs grouped into ranking examples.

- `mtdnn_tsv`: the raw TSVs that the reference's prepro scripts write and its `load_data` reads,
  one layout per data format (no header):
  - premise_only: `uid<TAB>label<TAB>premise`
  - premise_and_one_hypothesis: `uid<TAB>label<TAB>premise<TAB>hypothesis`
  - premise_and_multi_hypothesis: `uid<TAB>ruid1,ruid2<TAB>label<TAB>premise<TAB>hyp1<TAB>hyp2..`
    (the label is the index of the right hypothesis)
  - sequence: `uid<TAB>['B-PER', 'O', ...]<TAB>['John', 'runs', ...]` (Python list literals)
- `grouped_pairs_tsv`: a GLUE pair TSV whose rows share premises (QNLI: question, sentence,
  label), turned into one ranking example per premise, as MT-DNN's QNLI-as-ranking does.
"""

import ast
import logging
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader

from mtdnn_allennlp.common.registered_names import register
from mtdnn_allennlp.data.dataset_readers.layouts import GlueTsvReader, TextLinesReader
from mtdnn_allennlp.data.dataset_readers.task_reader import RawExample

logger = logging.getLogger(__name__)

# The fixed leading columns of each format, then the texts.
MTDNN_COLUMNS = {
    "premise_only": ("uid", "label", "premise"),
    "premise_and_one_hypothesis": ("uid", "label", "premise", "hypothesis"),
    "premise_and_multi_hypothesis": ("uid", "ruid", "label", "premise", "hypotheses"),
    "sequence": ("uid", "tags", "words"),
}
LAYOUT_TEXT = {
    "premise_only": "uid<TAB>label<TAB>premise",
    "premise_and_one_hypothesis": "uid<TAB>label<TAB>premise<TAB>hypothesis",
    "premise_and_multi_hypothesis": (
        "uid<TAB>ruid1,ruid2,...<TAB>label<TAB>premise<TAB>hypothesis1<TAB>hypothesis2..."
    ),
    "sequence": "uid<TAB>[tags]<TAB>[words] with Python list literals",
}


@DatasetReader.register("mtdnn_tsv")
class MtdnnTsvReader(TextLinesReader):
    """MT-DNN's raw TSV rows (see the module docstring), by the task's data format.

    Rows are split on tabs only (no quote handling: texts hold bare quotes). A row with the
    wrong number of columns, a list that does not parse, or `ruid`s that do not match the
    hypotheses is a `DataError` naming the file, line and field; so is a line that does not
    decode (`encoding`, `errors`: see `TextLinesReader`), which `skip_invalid` can skip.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        if self.task.data_format not in MTDNN_COLUMNS:
            raise ConfigurationError(
                f"Task '{self.task.name}': MT-DNN's TSV files have no "
                f"'{self.task.data_format}' layout (they have {sorted(MTDNN_COLUMNS)}); "
                "read this task with another reader, e.g. jsonl."
            )

    def raw_examples(self, path: Path) -> Iterable[RawExample]:
        data_format = self.task.data_format
        for line, text in self.decoded_lines(path):
            if isinstance(text, RawExample):  # a line that does not decode
                yield text
                continue
            text = text.rstrip("\r\n")
            if not text.strip():
                continue
            yield self._row(path, line, text.split("\t"), data_format)

    def _row(self, path: Path, line: int, row: List[str], data_format: str) -> RawExample:
        names = MTDNN_COLUMNS[data_format]
        fix = f"an MT-DNN '{data_format}' row is {LAYOUT_TEXT[data_format]}"
        if data_format == "premise_and_multi_hypothesis":
            if len(row) < len(names) + 1:
                missing = names[min(len(row), len(names) - 1)]
                return self._bad_row(
                    path, line, f"{len(row)} columns; ranking needs at least 6.", fix, missing
                )
            uid, ruid, label, premise, *hypotheses = row
            ruids = [each for each in ruid.split(",") if each]
            if ruids and len(ruids) != len(hypotheses):
                return self._bad_row(
                    path,
                    line,
                    f"{len(ruids)} ruids for {len(hypotheses)} hypotheses.",
                    "give one comma-separated ruid per hypothesis (or leave the column empty); "
                    "a tab inside a hypothesis splits it in two",
                    "ruid",
                )
            fields: Dict[str, Any] = {
                "id": uid,
                "label": label,
                "premise": premise,
                "hypotheses": hypotheses,
            }
            return RawExample(line, fields)
        if len(row) != len(names):
            field = names[len(row)] if len(row) < len(names) else None
            return self._bad_row(
                path,
                line,
                f"{len(row)} columns where the layout has {len(names)}.",
                fix + "; a tab inside a text splits the row",
                field,
            )
        fields = dict(zip(names, row, strict=True))
        fields["id"] = fields.pop("uid")
        if data_format == "sequence":
            for name in ("tags", "words"):
                try:
                    value = ast.literal_eval(fields[name])
                except (ValueError, SyntaxError):
                    value = None
                if not isinstance(value, list):
                    return self._bad_row(
                        path,
                        line,
                        f"the {name} column is not a Python list: {fields[name][:60]!r}.",
                        f"write the {name} as a list literal, e.g. ['a', 'b'] ({fix})",
                        name,
                    )
                fields[name] = [str(each) for each in value]
        return RawExample(line, fields)


@register(DatasetReader, "mtdnn_grouped_pairs_tsv", deprecated_name="grouped_pairs_tsv")
class GroupedPairsTsvReader(GlueTsvReader):
    """Rows of a GLUE pair TSV grouped by premise into ranking examples (MT-DNN's QNLI as
    pairwise ranking: a question, its candidate sentences, the index of the answering one).

    Rows are grouped by identical premise text, in the order of each premise's first row. A
    group becomes one example when it has at least `min_candidates` rows and exactly one row
    labelled `positive_label`; other groups (a question with a single sentence, which is most
    of QNLI's) are not ranking examples and are left out and counted, not reported as errors.
    A file without a label column (test sets) gives unlabelled groups.

    # Parameters

    columns : `Dict[str, Union[str, int]]`
        As for `glue_tsv`, with `premise`, `hypothesis`, `label` and `id`.
    positive_label : `str`
        The label of the right candidate, as written in the file (after `label_map`, if any).
    min_candidates : `int`, optional (default = `2`)
    """

    CACHE_SETTINGS = ("positive_label", "min_candidates")

    def __init__(self, positive_label: str, min_candidates: int = 2, **kwargs) -> None:
        super().__init__(**kwargs)
        if min_candidates < 2:
            raise ConfigurationError("grouped_pairs_tsv: min_candidates must be at least 2.")
        if "hypothesis" not in self.columns:
            raise ConfigurationError("grouped_pairs_tsv: columns need a 'hypothesis' column.")
        if self.task.data_format != "premise_and_multi_hypothesis":
            raise ConfigurationError(
                f"Task '{self.task.name}': grouped_pairs_tsv makes premise_and_multi_hypothesis "
                f"examples, not '{self.task.data_format}'; use the jsonl reader."
            )
        self.positive_label = positive_label
        self.min_candidates = min_candidates
        self.left_out = 0

    def raw_examples(self, path: Path) -> Iterable[RawExample]:
        groups: Dict[str, List[RawExample]] = {}
        for example in super().raw_examples(path):
            if example.error is not None:
                yield example
                continue
            groups.setdefault(str(example.fields.get("premise")), []).append(example)
        self.left_out = 0
        for rows in groups.values():
            example = self._group(rows)
            if example is None:
                self.left_out += 1
            else:
                yield example
        if self.left_out:
            logger.info(
                "task %s: %d of %d premises in %s are not ranking groups (fewer than %d "
                "candidates or not exactly one '%s'); left out",
                self.task.name,
                self.left_out,
                len(groups),
                path,
                self.min_candidates,
                self.positive_label,
            )

    def _group(self, rows: List[RawExample]) -> Optional[RawExample]:
        if len(rows) < self.min_candidates:
            return None
        first = rows[0].fields
        fields: Dict[str, Any] = {
            "premise": first["premise"],
            "hypotheses": [row.fields["hypothesis"] for row in rows],
        }
        ids = [str(row.fields["id"]) for row in rows if "id" in row.fields]
        if ids:
            fields["id"] = ",".join(ids)
        if "label" in first:
            labels = [self._label_name(row.fields.get("label")) for row in rows]
            positives = [i for i, label in enumerate(labels) if label == self.positive_label]
            if len(positives) != 1:
                return None
            fields["label"] = positives[0]
        return RawExample(rows[0].line, fields)
