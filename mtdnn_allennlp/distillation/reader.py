"""The student's training reader: the multi-task reader, with each example joined to its soft
targets by (task, example id)."""

from typing import Any, Dict, Iterable, List, Mapping, Optional, Set, Union

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader, Instance
from allennlp.data.fields import TensorField

from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.data.dataset_readers.multitask import DataFile, MultiTaskReader
from mtdnn_allennlp.distillation.soft_targets import (
    Key,
    Record,
    check_distillable,
    check_record,
    example_key,
    read_records,
    target_padding,
    target_tensor,
)
from mtdnn_allennlp.tasks import TaskDefinition


@DatasetReader.register("mtdnn_distillation")
class DistillationReader(MultiTaskReader):
    """`mtdnn_multitask` plus soft targets: every instance gets a `soft_target` field (and a
    `soft_target_mask` for tagging), which the model's kd_loss compares with its outputs. Masked
    LM has no soft targets; a task of that type is refused when the reader is built.

    The join is strict. An example without soft targets is an error, and so is a soft target
    whose example was not read, when a whole file is read (not with `max_instances_per_task` or
    `sample_per_task`, which read part of it on purpose). Every record is checked against its
    task: class count, finite values. Errors name the example id and the file.

    # Parameters

    tasks : `List[TaskDefinition]`
    soft_targets : `Union[str, Dict[str, str]]`
        One soft-target file for all tasks, or a {task: file} mapping (see
        `mtdnn_allennlp.distillation.soft_targets` for the format). Every task needs soft
        targets.
    **kwargs
        The arguments of `mtdnn_multitask`.
    """

    def __init__(
        self,
        tasks: List[TaskDefinition],
        soft_targets: Union[str, Dict[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(tasks, **kwargs)
        for task in tasks:
            check_distillable(task)
        files = (
            {name: soft_targets for name in self.tasks}
            if isinstance(soft_targets, str)
            else dict(soft_targets)
        )
        unknown = sorted(set(files) - set(self.tasks))
        if unknown:
            raise ConfigurationError(
                f"soft_targets names tasks {unknown} that this reader does not have "
                f"({sorted(self.tasks)})."
            )
        missing = sorted(set(self.tasks) - set(files))
        if missing:
            raise ConfigurationError(
                f"soft_targets has no file for tasks {missing}: every task of a student needs "
                "its teacher's soft targets."
            )
        self.soft_target_files: Dict[str, str] = files
        self._records: Optional[Dict[str, Dict[Key, Record]]] = None

    def _load(self) -> Dict[str, Dict[Key, Record]]:
        # Read when first needed, so that building the reader (e.g. from an archive) does not
        # need the files.
        if self._records is None:
            by_file: Dict[str, Dict[Key, Record]] = {}
            for file in sorted(set(self.soft_target_files.values())):
                by_file[file] = read_records(file)
                tasks_in_file = {task for task, _ in by_file[file]}
                strangers = sorted(tasks_in_file - set(self.tasks))
                if strangers:
                    raise DataError(
                        f"soft targets for tasks {strangers}, which this student does not have "
                        f"(its tasks: {sorted(self.tasks)}).",
                        file=file,
                        fix="make the soft targets for the student's tasks only",
                    )
            self._records = {
                task: {
                    key: record
                    for key, record in by_file[file].items()
                    if key[0] == task  # a shared file holds every task
                }
                for task, file in self.soft_target_files.items()
            }
        return self._records

    def read_task(self, task: str, data_file: DataFile) -> Iterable[Instance]:
        records = self._load()[task]
        soft_file = self.soft_target_files[task]
        definition = self.tasks[task]
        reader, file_path = self.file_reader(task, data_file)
        seen: Set[Key] = set()
        for instance in reader.read(file_path):
            metadata: Mapping[str, Any] = instance["metadata"].metadata  # type: ignore
            key = example_key(task, metadata["id"])
            record = records.get(key)
            if record is None:
                raise DataError(
                    f"example id '{key[1]}' of {file_path} has no soft target.",
                    file=soft_file,
                    task=task,
                    field="id",
                    fix="make the soft targets from the same training file the student reads "
                    "(allennlp soft-targets ... with the student's train_data_path)",
                )
            check_record(definition, record, soft_file)
            seen.add(key)
            # Word pieces, or candidates for ranking (a list of texts).
            length = len(instance["tokens"])  # type: ignore[arg-type]
            target, mask = target_tensor(definition, record, metadata, length, soft_file)
            instance.add_field(
                "soft_target", TensorField(target, padding_value=target_padding(definition))
            )
            if mask is not None:
                instance.add_field(
                    "soft_target_mask", TensorField(mask, padding_value=False, dtype=torch.bool)
                )
            yield instance
        if reader.max_instances is None and reader.sample_size is None:
            extra = sorted(set(records) - seen, key=lambda key: key[1])
            if extra:
                raise DataError(
                    f"{len(extra)} soft targets have no example in {file_path}, e.g. id "
                    f"'{extra[0][1]}' (line {records[extra[0]].get('_line')}).",
                    file=soft_file,
                    task=task,
                    field="id",
                    fix="the soft targets were made from another file (or another version of "
                    "it): remake them from the student's training file",
                )
