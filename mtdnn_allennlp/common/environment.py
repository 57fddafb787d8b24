"""The environment variables that the experiment configs read, and their defaults.

Every config under training_config/ reads its data root, encoder, seed and smoke-run switch with
``std.extVar``. Jsonnet has no default for a missing external variable, and allennlp passes the
process environment as the external variables, so this module adds a default for each of ours.
A config therefore runs with no environment set (fixtures and the shipped MiniLM encoder), and
the archived config.json records the values that were actually used.
"""

import os
from pathlib import Path
from typing import Dict

from mtdnn_allennlp.common import configs
from mtdnn_allennlp.compat import allennlp_internals
from mtdnn_allennlp.training.device import choose_device

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FIXTURES_ROOT = PROJECT_ROOT / "fixtures"

DEFAULTS: Dict[str, str] = {
    # Root of the data folders (glue/, nli/, ner/). Point it at ../shared/data for real runs.
    # Unset in a source checkout: its fixtures. An installed wheel has no data: unset, the task
    # library stops with a message naming MTDNN_DATA (training_config/tasks.libsonnet).
    "MTDNN_DATA": str(FIXTURES_ROOT / "data") if (FIXTURES_ROOT / "data").is_dir() else "",
    # An encoder name (see mtdnn_allennlp/common/encoders.py) or a local transformers folder.
    "MTDNN_ENCODER": "all-MiniLM-L6-v2",
    # "1": cap every task at a few instances and train one epoch, to check a config end to end.
    "MTDNN_SMOKE": "0",
    # Seeds python, numpy and torch (allennlp's random_seed, numpy_seed, pytorch_seed).
    "MTDNN_SEED": "2018",
    # Training epochs, where a config does not fix them.
    "MTDNN_EPOCHS": "3",
    # Train on a seeded random subset of this many examples per task ("0": all of them).
    # Validation always reads whole dev sets.
    "MTDNN_TRAIN_EXAMPLES": "0",
    # Validate on a seeded random subset of this many dev examples per task ("0": all).
    "MTDNN_DEV_EXAMPLES": "0",
    # After training, evaluate on this many test examples per task with a labelled test split
    # ("all": the whole files; "0": no test evaluation).
    "MTDNN_TEST_EXAMPLES": "0",
    # The teachers' soft targets that distillation students train on (docs/distillation.md).
    "MTDNN_SOFT_TARGETS": str(FIXTURES_ROOT / "distillation" / "glue4_soft_targets.jsonl"),
    # A folder that keeps tokenised data files between runs ("": no cache). See
    # docs/performance.md.
    "MTDNN_CACHE": "",
    # Multi-stage training (training_config/multistage/refine.jsonnet): the stage-1 archive
    # ("": unset, the config says so) and the task to refine.
    "MTDNN_INIT_ARCHIVE": "",
    "MTDNN_REFINE_TASK": "rte",
    # Auxiliary batches per main-task batch where a config bounds its auxiliary tasks with the
    # main_task_ratio sampler (training_config/glue/rte_nli.jsonnet).
    "MTDNN_AUX_RATIO": "1",
    # auto (the GPU when torch sees one, else the CPU), cpu, a CUDA index, or a list of indices
    # for distributed training (mtdnn_allennlp/training/device.py).
    "MTDNN_DEVICE": "auto",
    # fp32, fp16 (allennlp's use_amp with its GradScaler; CUDA only) or bf16 (the encoder under
    # bfloat16 autocast, CPU or GPU). See docs/gpu.md.
    "MTDNN_PRECISION": "fp32",
}

_original_environment_variables = allennlp_internals.params_environment_function()


def environment_with_defaults() -> Dict[str, str]:
    variables = dict(DEFAULTS)
    variables.update(_original_environment_variables())
    # Jsonnet cannot ask torch for a GPU: the choice MTDNN_DEVICE makes is passed in derived.
    choice = choose_device(variables["MTDNN_DEVICE"])
    variables["MTDNN_DEVICE_CHOICE"] = choice.external_variable
    variables["MTDNN_DEVICE_REASON"] = choice.reason
    return variables


def install_defaults() -> None:
    """Makes allennlp's Params see our defaults wherever the environment leaves a variable unset."""
    allennlp_internals.set_params_environment_function(environment_with_defaults)


def setting(name: str) -> str:
    return os.environ.get(name) or DEFAULTS[name]


install_defaults()
configs.install()
