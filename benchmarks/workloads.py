"""The workloads the benchmarks time: the package's own training path, built exactly as
`allennlp train` builds it, and the bare PyTorch + transformers loop it is compared with.

`Experiment` evaluates training_config/experiment.libsonnet for a list of tasks (the same
jsonnet the shipped configs use) and builds allennlp's `TrainModel` from it: MultiTaskReader,
MultiTaskDataLoader, Model "mtdnn" and the GradientDescentTrainer with the configs' optimizer,
scheduler, gradient clipping and TensorBoard callback. One timed call is one training epoch of
the trainer's own epoch loop (`allennlp_internals.train_one_epoch`), the loop `allennlp train`
runs. The loader's epoch counter is reset before each call, so every call trains on the same
batches, which `bare.BareLoop` gets as tensors.
"""

import json
import tempfile
from copy import deepcopy
from pathlib import Path
from typing import Any, Dict, List, Optional

import _jsonnet
from allennlp.commands.train import TrainModel
from allennlp.common import Params
from allennlp.common.util import import_module_and_submodules, prepare_environment

from benchmarks.common import ROOT, data_root
from mtdnn_allennlp.common.environment import environment_with_defaults
from mtdnn_allennlp.compat import allennlp_internals

ENCODER = "all-MiniLM-L6-v2"

import_module_and_submodules("mtdnn_allennlp")


def experiment_params(
    tasks: List[str],
    train_examples: int,
    batch_size: int = 16,
    max_length: int = 128,
    copies: int = 1,
    encoder_extra: Optional[Dict[str, Any]] = None,
    encoder: str = ENCODER,
) -> Dict[str, Any]:
    """The experiment the configs build for these tasks, without validation.

    `copies` > 1 repeats every task under new names (`sst2_1`, `sst2_2`...), each with its own
    head, for scaling in the number of tasks with the per-task work held constant.
    """
    variables = environment_with_defaults()
    variables.update(
        MTDNN_DATA=str(data_root()),
        MTDNN_ENCODER=encoder,
        MTDNN_TRAIN_EXAMPLES=str(train_examples),
        MTDNN_SMOKE="0",
        MTDNN_EPOCHS="1",
        MTDNN_CACHE="",
    )
    listed = ", ".join(f"t.{name}" for name in tasks)
    snippet = (
        "local t = import 'tasks.libsonnet'; local lib = import 'experiment.libsonnet';\n"
        f"lib.experiment([{listed}], eval_tasks=[], batch_size={batch_size}, "
        f"max_length={max_length})"
    )
    text = _jsonnet.evaluate_snippet(
        "benchmark", snippet, jpathdir=[str(ROOT / "training_config")], ext_vars=variables
    )
    params = json.loads(text)
    if copies > 1:
        _replicate(params, copies)
    params["model"]["encoder"].update(encoder_extra or {})
    return params


def _replicate(params: Dict[str, Any], copies: int) -> None:
    def copied(definitions: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        result = []
        for definition in definitions:
            for index in range(1, copies + 1):
                result.append(dict(deepcopy(definition), name=f"{definition['name']}_{index}"))
        return result

    for section in ("dataset_reader", "validation_dataset_reader"):
        params[section]["tasks"] = copied(params[section]["tasks"])
    params["model"]["tasks"] = copied(params["model"]["tasks"])
    params["train_data_path"] = {
        f"{task}_{index}": path
        for task, path in params["train_data_path"].items()
        for index in range(1, copies + 1)
    }


class Experiment:
    """The package's training path for one experiment; `epoch()` trains one epoch."""

    def __init__(self, params: Dict[str, Any]) -> None:
        self.directory = tempfile.TemporaryDirectory(prefix="mtdnn-bench-")
        config = Params(deepcopy(params))
        prepare_environment(config)  # seeds, as `allennlp train` does
        self.train_model = TrainModel.from_params(
            params=config,
            serialization_dir=self.directory.name,
            local_rank=0,
        )
        self.trainer = self.train_model.trainer
        self.loader = self.trainer.data_loader
        self.model = self.train_model.model
        for callback in allennlp_internals.trainer_callbacks(self.trainer):
            callback.on_start(self.trainer, is_primary=True)
        self.batches = [self.loader.collator(b) for b in self.loader.epoch_batches(0)]
        self._epochs = 0

    def epoch(self) -> None:
        self.loader.epoch = 0  # the same batches every call
        allennlp_internals.train_one_epoch(self.trainer, self._epochs)
        self._epochs += 1

    @property
    def examples(self) -> int:
        return sum(len(batch["task"]) for batch in self.batches)

    @property
    def real_tokens(self) -> int:
        return sum(int(b["tokens"]["tokens"]["mask"].sum()) for b in self.batches)

    @property
    def padded_tokens(self) -> int:
        return sum(b["tokens"]["tokens"]["mask"].numel() for b in self.batches)

    def close(self) -> None:
        for callback in allennlp_internals.trainer_callbacks(self.trainer):
            callback.on_end(self.trainer, is_primary=True)
        self.directory.cleanup()


def task_specs(params: Dict[str, Any]) -> List[Dict[str, Any]]:
    return params["model"]["tasks"]


def task_inputs(task: str, count: int, max_length: int = 128) -> List[Dict[str, Any]]:
    """`count` dev examples of a task, as the JSON lines `allennlp predict` reads."""
    params = experiment_params([task], train_examples=0, max_length=max_length)
    reader_params = params["dataset_reader"]
    reader_params["max_instances_per_task"] = count
    from allennlp.data import DatasetReader

    reader = DatasetReader.from_params(Params(reader_params))
    path = Path(_dev_path(task))
    inputs = []
    for instance in reader.read(json.dumps({task: str(path)})):
        metadata = instance["metadata"].metadata
        entry = {"task": task}
        for key in ("premise", "hypothesis", "words"):
            if metadata.get(key) is not None:
                entry[key] = metadata[key]
        inputs.append(entry)
    return inputs


def _dev_path(task: str) -> str:
    variables = environment_with_defaults()
    variables.update(MTDNN_DATA=str(data_root()))
    text = _jsonnet.evaluate_snippet(
        "dev",
        f"local t = import 'tasks.libsonnet'; t.{task}.data.dev",
        jpathdir=[str(ROOT / "training_config")],
        ext_vars=variables,
    )
    return json.loads(text)
