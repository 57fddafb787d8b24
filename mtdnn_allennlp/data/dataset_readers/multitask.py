"""One reader for all the tasks of an experiment, built from their task definitions."""

import json
import logging
from copy import deepcopy
from typing import Any, Dict, Iterable, List, Mapping, Optional, Union

from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader, Instance

from mtdnn_allennlp.data.dataset_readers.task_reader import TaskReader
from mtdnn_allennlp.tasks import TaskDefinition

logger = logging.getLogger(__name__)

DataPaths = Union[str, Mapping[str, str]]


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
        self.readers: Dict[str, TaskReader] = {}
        for task in tasks:
            reader = DatasetReader.from_params(
                Params(deepcopy(task.reader)),
                task=task,
                encoder=encoder,
                max_length=(max_length_per_task or {}).get(task.name, max_length),
                skip_invalid=skip_invalid,
                max_instances=max_instances_per_task,
                sample_size=sample_per_task,
                sample_seed=sample_seed,
                cache_directory=cache_directory,
            )
            if not isinstance(reader, TaskReader):
                raise ConfigurationError(
                    f"Task '{task.name}': reader type '{task.reader.get('type')}' is not a task "
                    "reader of mtdnn_allennlp (glue_tsv, snli_parallel, conll_iob, jsonl, "
                    "mtdnn_tsv, grouped_pairs_tsv)."
                )
            self.readers[task.name] = reader

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

    def task_paths(self, data_path: DataPaths) -> Dict[str, str]:
        """A {task: file} mapping from a mapping, its JSON text, or one path for a single task."""
        if isinstance(data_path, str) and data_path.lstrip().startswith("{"):
            data_path = json.loads(data_path)
        if isinstance(data_path, Mapping):
            paths = dict(data_path)
            for task in paths:
                self.reader_for(task, where="data path: ")
            return paths
        return {self.reader_for(None, where=f"data path '{data_path}': ").task.name: data_path}

    def read_task(self, task: str, file_path: str) -> Iterable[Instance]:
        return self.reader_for(task).read(file_path)

    def _read(self, file_path: Any) -> Iterable[Instance]:
        for task, path in self.task_paths(file_path).items():
            yield from self.read_task(task, path)

    def text_to_instance(self, task: Optional[str] = None, **inputs) -> Instance:  # type: ignore
        return self.reader_for(task).text_to_instance(**inputs)

    def apply_token_indexers(self, instance: Instance) -> None:
        pass
