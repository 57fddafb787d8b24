"""One reader for all the tasks of an experiment, built from their task definitions."""

import json
import logging
import os
from copy import deepcopy
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader, Instance

from mtdnn_allennlp.data.dataset_readers.task_reader import TaskReader
from mtdnn_allennlp.tasks import TaskDefinition

logger = logging.getLogger(__name__)

# A task's data file: its path, or an object that also says how to read it (`DATA_FILE_KEYS`).
DataFile = Union[str, Mapping[str, Any]]
# A task's data: one file, or a list of files read one after the other as one set.
TaskData = Union[DataFile, List[DataFile]]
DataPaths = Union[str, Mapping[str, TaskData]]
DATA_FILE_KEYS = ("path", "layout", "reader", "sample", "sample_seed", "held_out")


@DatasetReader.register("mtdnn_multitask")
class MultiTaskReader(DatasetReader):
    """Reads each task's files with the layout its definition names.

    # Parameters

    tasks : `List[TaskDefinition]`
        The experiment's tasks (from training_config/tasks.libsonnet).
    encoder : `str`, optional (default = `"all-MiniLM-L6-v2"`)
        The encoder whose tokenizer every task uses: the model's encoder.
    max_length : `int`, optional (default = `128`)
        Longest input in word pieces, for every task unless `max_length_per_task` says.
    max_length_per_task : `Dict[str, int]`, optional
    max_instances_per_task : `int`, optional
        Read at most this many examples of each file (quick runs).
    skip_invalid : `bool`, optional (default = `False`)
        Skip and count bad rows instead of stopping with an error at the first.
    sample_per_task : `int`, optional
        Read a seeded random subset of this many examples of each file (training on subsets).
        Configs set it on the training reader only, so validation sees whole dev sets.
    sample_seed : `int`, optional (default = `0`)
    cache_directory : `str`, optional
        Cache every task's tokenised files here between runs (see `TaskReader`).

    A data path names each task's file, `{task: file}`. A file is a path, or an object that says
    how to read that one file (`allennlp evaluate` on a test file laid out differently, a sample
    of a dev set):

        {"path": "...", "layout": "gold_test"}          a layout the task declares (`layouts`)
        {"path": "...", "reader": {"header": false}}    changes to the task's reader
        {"path": "...", "sample": 200, "sample_seed": 1}   a seeded random subset
        {"path": "...", "sample": 200, "sample_seed": 1, "held_out": true}
                                                        the rest of the file: what it leaves out

    A task's data may also be a list of files, read in order as one set: SNLI's dev and test
    files as one training set where there is no train file (training_config/glue/rte_nli.jsonnet).
    """

    def __init__(
        self,
        tasks: List[TaskDefinition],
        encoder: str = "all-MiniLM-L6-v2",
        max_length: int = 128,
        max_length_per_task: Optional[Dict[str, int]] = None,
        max_instances_per_task: Optional[int] = None,
        skip_invalid: bool = False,
        sample_per_task: Optional[int] = None,
        sample_seed: int = 0,
        cache_directory: Optional[str] = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        names = [task.name for task in tasks]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"Two tasks share a name: {names}.")
        unknown = set(max_length_per_task or {}) - set(names)
        if unknown:
            raise ConfigurationError(f"max_length_per_task names unknown tasks {sorted(unknown)}.")
        self.tasks = {task.name: task for task in tasks}
        self._shared_settings = dict(
            encoder=encoder,
            skip_invalid=skip_invalid,
            max_instances=max_instances_per_task,
            sample_size=sample_per_task,
            sample_seed=sample_seed,
            cache_directory=cache_directory,
        )
        self._max_length = {
            task.name: (max_length_per_task or {}).get(task.name, max_length) for task in tasks
        }
        self._whole_files = False
        self.readers: Dict[str, TaskReader] = {
            task.name: self._build_reader(task, task.reader) for task in tasks
        }
        # Readers for data files read another way than the task's reader, by their settings.
        self._file_readers: Dict[Tuple[str, str], TaskReader] = {}

    def _build_reader(self, task: TaskDefinition, layout: Dict[str, Any], **settings) -> TaskReader:
        reader = DatasetReader.from_params(
            Params(deepcopy(layout)),
            task=task,
            max_length=self._max_length[task.name],
            **{**self._shared_settings, **settings},
        )
        if not isinstance(reader, TaskReader):
            raise ConfigurationError(
                f"Task '{task.name}': reader type '{layout.get('type')}' is not a task "
                "reader of mtdnn_allennlp (mtdnn_delimited, mtdnn_glue_tsv, mtdnn_regex, "
                "mtdnn_jsonl, mtdnn_conll_iob, mtdnn_hf_dataset, ...: docs/task_library.md)."
            )
        if self._whole_files:
            reader.read_whole_files()
        return reader

    def read_whole_files(self) -> None:
        """Every task reader, built now or later, reads whole files (see
        `TaskReader.read_whole_files`): the multi-task loader deals batches to workers itself."""
        self._whole_files = True
        for reader in (*self.readers.values(), *self._file_readers.values()):
            reader.read_whole_files()

    def reader_for(self, task: Optional[str], where: str = "") -> TaskReader:
        if task is None and len(self.readers) == 1:
            return next(iter(self.readers.values()))
        if task is None:
            raise ConfigurationError(
                f"{where}no task given, and this model has {len(self.readers)} tasks: "
                f'{sorted(self.readers)}. Name one with a "task" key.'
            )
        if task not in self.readers:
            raise ConfigurationError(
                f"{where}unknown task '{task}'. This model's tasks: {sorted(self.readers)}."
            )
        return self.readers[task]

    def task_paths(self, data_path: DataPaths) -> Dict[str, TaskData]:
        """A {task: data} mapping from a mapping, its JSON text, or one path for a single task."""
        if isinstance(data_path, str) and data_path.lstrip().startswith("{"):
            data_path = json.loads(data_path)
        if isinstance(data_path, Mapping):
            paths = dict(data_path)
            for task, task_data in paths.items():
                for data_file in self._files_of(task, task_data):
                    self.file_reader(task, data_file)  # checks the task and the file's settings
            return paths
        return {self.reader_for(None, where=f"data path '{data_path}': ").task.name: data_path}

    def file_reader(self, task: str, data_file: DataFile) -> Tuple[TaskReader, str]:
        """The reader of one data file of a task, and the file's path."""
        where = f"data path of task '{task}': "
        reader = self.reader_for(task, where="data path: ")
        if isinstance(data_file, (str, os.PathLike)):
            return reader, str(data_file)
        if not isinstance(data_file, Mapping) or "path" not in data_file:
            raise ConfigurationError(
                f"{where}{data_file!r} is neither a path nor an object with a 'path' key."
            )
        unknown = sorted(set(data_file) - set(DATA_FILE_KEYS))
        if unknown:
            raise ConfigurationError(
                f"{where}unknown keys {unknown} in {dict(data_file)}; a data file object takes "
                f"{list(DATA_FILE_KEYS)}."
            )
        settings = {key: value for key, value in data_file.items() if key != "path"}
        if len(settings) == 0:
            return reader, data_file["path"]
        key = (task, json.dumps(settings, sort_keys=True))
        if key not in self._file_readers:
            self._file_readers[key] = self._variant(reader.task, settings, where)
        return self._file_readers[key], data_file["path"]

    def _variant(self, task: TaskDefinition, settings: Dict[str, Any], where: str) -> TaskReader:
        layout = dict(task.reader)
        if "layout" in settings:
            name = settings["layout"]
            if name not in task.layouts:
                raise ConfigurationError(
                    f"{where}task '{task.name}' declares no layout '{name}'. Its layouts: "
                    f"{sorted(task.layouts)}; declare it under the task's layouts, or give "
                    'the reader\'s changes inline: {"path": ..., "reader": {...}}.'
                )
            layout.update(task.layouts[name])
        layout.update(settings.get("reader") or {})
        sample: Dict[str, Any] = {}
        if "sample" in settings:
            sample["sample_size"] = settings["sample"]
        if "sample_seed" in settings:
            sample["sample_seed"] = settings["sample_seed"]
        if "held_out" in settings:
            sample["sample_held_out"] = settings["held_out"]
        return self._build_reader(task, layout, **sample)

    @staticmethod
    def _files_of(task: str, task_data: TaskData) -> List[DataFile]:
        if not isinstance(task_data, (list, tuple)):
            return [task_data]
        if not task_data:
            raise ConfigurationError(f"data path of task '{task}': the list of files is empty.")
        return list(task_data)

    def read_task(self, task: str, task_data: TaskData) -> Iterable[Instance]:
        """The instances of one task's data: one file, or each file of a list in turn."""
        for data_file in self._files_of(task, task_data):
            reader, path = self.file_reader(task, data_file)
            yield from reader.read(path)

    def _read(self, file_path: Any) -> Iterable[Instance]:
        for task, data_file in self.task_paths(file_path).items():
            yield from self.read_task(task, data_file)

    def text_to_instance(self, task: Optional[str] = None, **inputs) -> Instance:  # type: ignore
        return self.reader_for(task).text_to_instance(**inputs)

    def apply_token_indexers(self, instance: Instance) -> None:
        pass
