"""Hugging Face `datasets` on disk as a data layout, read offline.

A data path is either a folder written by `Dataset.save_to_disk` / `DatasetDict.save_to_disk`
(read with `datasets.load_from_disk`), or a `.parquet`, `.arrow`, `.json` or `.jsonl` file (read
with `datasets.load_dataset(<format>, data_files=...)`, which needs no network for local files).
A `DatasetDict` folder holds one sub-folder per split, so a config names a split either as
`FOLDER/validation` or through the reader's `split`.
"""

from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader

from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.data.dataset_readers.task_reader import (
    RawExample,
    TaskReader,
)
from mtdnn_allennlp.tasks.types import data_format as format_of

# File suffixes read through `load_dataset`, and the builder that reads each.
FILE_BUILDERS = {".parquet": "parquet", ".arrow": "arrow", ".json": "json", ".jsonl": "json"}
UNLABELLED = -1  # what GLUE's test splits in `datasets` hold as their ClassLabel
# The data formats whose rows TaskReader turns into instances itself. Extractive QA (windows
# over a context) and masked LM have readers of their own (squad_json, masked_lm_text).
DATA_FORMATS = (
    "premise_only",
    "premise_and_one_hypothesis",
    "sequence",
    "premise_and_multi_hypothesis",
    "multiple_choice",
)


@DatasetReader.register("mtdnn_hf_dataset")
class HfDatasetReader(TaskReader):
    """Rows of a `datasets.Dataset` as examples of the task.

    # Parameters

    split : `str`, optional (default = `"train"`)
        The split to read when the data path is a saved `DatasetDict` (not one of its split
        folders) or a file (whose examples `load_dataset` calls "train").
    field_map : `Dict[str, str]`, optional
        Renames the dataset's columns to the task's fields, e.g. `{"sentence1": "premise"}`.
        Columns not named by the task (after renaming) are ignored.

    `ClassLabel` columns (the label, or each tag of a `Sequence(ClassLabel)`) hold integers;
    they are read as the ClassLabel's names, which must be the task's labels (or map to them
    through `label_map`). `-1` (an unlabelled row, as in GLUE's test splits) is read as no label.
    """

    CACHE_SETTINGS = ("split", "field_map")

    def __init__(
        self, split: str = "train", field_map: Optional[Dict[str, str]] = None, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        if self.task.data_format not in DATA_FORMATS:
            raise ConfigurationError(
                f"Task '{self.task.name}': the mtdnn_hf_dataset layout reads the data formats "
                f"{list(DATA_FORMATS)}, not '{self.task.data_format}'. Save the data in the "
                "layout of that task type's own reader (e.g. squad_json for SQuAD)."
            )
        self.split = split
        self.field_map = field_map or {}

    # --- where the data is ------------------------------------------------------------------

    def resolve_path(self, file_path: str) -> Path:
        path = Path(file_path).expanduser()
        if path.is_dir() or (path.is_file() and path.suffix in FILE_BUILDERS):
            return path
        raise DataError(
            "no saved dataset folder or .parquet/.arrow/.json/.jsonl file here.",
            file=str(path),
            task=self.task.name,
            fix="save the dataset with dataset.save_to_disk(FOLDER) (or "
            "dataset.to_parquet(FILE)) and point the task's data path at it",
        )

    def source_files(self, path: Path) -> List[Path]:
        if path.is_file():
            return [path]
        return sorted(p for p in path.rglob("*") if p.is_file())

    def load(self, path: Path):
        import datasets

        if path.is_file():
            builder = FILE_BUILDERS[path.suffix]
            loaded = datasets.load_dataset(builder, data_files={self.split: str(path)})
        else:
            loaded = datasets.load_from_disk(str(path))
        if isinstance(loaded, datasets.DatasetDict):
            if self.split not in loaded:
                raise DataError(
                    f"the dataset has no split '{self.split}'; it has {sorted(loaded)}.",
                    file=str(path),
                    task=self.task.name,
                    fix="set the reader's split, or point the data path at a split's folder "
                    f"({path}/<split>)",
                )
            loaded = loaded[self.split]
        return loaded

    # --- rows -------------------------------------------------------------------------------

    def raw_examples(self, path: Path) -> Iterable[RawExample]:
        dataset = self.load(path)
        data_format = self.task.data_format
        target = format_of(data_format).target_field
        known = set(format_of(data_format).input_fields) | set(
            format_of(data_format).optional_fields
        )
        known |= {"id"} | ({target} if target else set())
        columns = {self.field_map.get(name, name): name for name in dataset.column_names}
        missing = [name for name in format_of(data_format).input_fields if name not in columns]
        if missing:
            raise DataError(
                f"the dataset has no column for the field '{missing[0]}'; its columns are "
                f"{dataset.column_names}.",
                file=str(path),
                task=self.task.name,
                field=missing[0],
                fix=f"map a column to it with the reader's field_map, e.g. "
                f'{{"{dataset.column_names[0]}": "{missing[0]}"}}',
            )
        label_names = self._class_label_names(dataset, columns.get(target or ""), path)
        for row_index, row in enumerate(dataset, start=1):
            fields = {field: row[column] for field, column in columns.items() if field in known}
            if label_names is not None and fields.get(target) is not None:
                fields[target] = self._named(fields[target], label_names)
            yield RawExample(row_index, fields)

    def _class_label_names(self, dataset, column: Optional[str], path: Path) -> Optional[List]:
        """The names of a ClassLabel target column (or of a sequence of them), checked against
        the task's labels; None when the column holds the label values themselves."""
        import datasets

        feature = dataset.features.get(column) if column else None
        if isinstance(feature, (datasets.Sequence, datasets.List)):
            feature = feature.feature
        if not isinstance(feature, datasets.ClassLabel):
            return None
        names = list(feature.names)
        declared = set(self.task.labels or [])
        unknown = [name for name in names if self.label_map.get(name, name) not in declared]
        if unknown:
            raise DataError(
                f"the ClassLabel names {unknown} (of {names}) are not labels of the task "
                f"({self.task.labels}).",
                file=str(path),
                task=self.task.name,
                field=column,
                fix="map them with the reader's label_map, e.g. "
                f'{{"{unknown[0]}": "{(self.task.labels or ["..."])[0]}"}}',
            )
        return names

    @staticmethod
    def _named(value: Any, names: List[str]) -> Any:
        if isinstance(value, list):
            return [names[each] for each in value]
        return None if value == UNLABELLED else names[value]
