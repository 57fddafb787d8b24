"""Which device a training run uses (``MTDNN_DEVICE``), and the log line that says why.

``MTDNN_DEVICE`` takes:

- ``auto`` (the default): the first GPU when ``torch.cuda.is_available()``, else the CPU;
- ``cpu`` (or ``-1``);
- a CUDA index, e.g. ``1``;
- a comma-separated list, e.g. ``0,1`` (or ``-1,-1`` for two CPU workers): one worker process
  per entry, through allennlp's ``distributed`` section.

The choice is made here, in Python, because jsonnet cannot ask torch whether a GPU is present.
``mtdnn_allennlp.common.environment`` hands it to the configs as two derived external variables:
``MTDNN_DEVICE_CHOICE`` (the CUDA indices, ``-1`` for the CPU) and ``MTDNN_DEVICE_REASON``.
``training_config/experiment.libsonnet`` turns the first into ``trainer.cuda_device`` or a
``distributed`` section and gives the second to the ``mtdnn_device_log`` callback, which logs the
device the trainer actually holds, e.g. ``device: cpu (no CUDA available)``.
"""

import logging
from dataclasses import dataclass
from typing import List, Optional

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.training.callbacks.callback import TrainerCallback

logger = logging.getLogger(__name__)

VARIABLE = "MTDNN_DEVICE"
CPU = -1


@dataclass(frozen=True)
class DeviceChoice:
    cuda_devices: List[int]  # one entry per worker; -1 is the CPU
    reason: str

    @property
    def external_variable(self) -> str:
        """The value of MTDNN_DEVICE_CHOICE that the configs read."""
        return ",".join(str(index) for index in self.cuda_devices)


def _index(text: str, setting: str) -> int:
    try:
        index = int(text)
    except ValueError:
        index = None
    if index is None or index < CPU:
        raise ConfigurationError(
            f"{VARIABLE}='{setting}' is not a device: use auto, cpu, a CUDA index such as 0, or "
            "a comma-separated list of indices such as 0,1 for distributed training."
        )
    return index


def choose_device(setting: str, cuda_available: Optional[bool] = None) -> DeviceChoice:
    """The device(s) that `setting` (MTDNN_DEVICE) selects, and why.

    `cuda_available` defaults to `torch.cuda.is_available()`. An explicit CUDA index is not
    checked against the hardware here (allennlp's trainer does that, with its own message), so
    that the archived config of a GPU run can still be read on a CPU machine.
    """
    text = setting.strip().lower()
    if text in ("", "auto"):
        if cuda_available is None:
            cuda_available = torch.cuda.is_available()
        if cuda_available:
            return DeviceChoice([0], f"CUDA available, {VARIABLE}=auto")
        return DeviceChoice([CPU], "no CUDA available")
    if text == "cpu":
        return DeviceChoice([CPU], f"{VARIABLE}={setting}")
    indices = [_index(part.strip(), setting) for part in text.split(",")]
    if len(indices) == 1:
        return DeviceChoice(indices, f"{VARIABLE}={setting}")
    return DeviceChoice(indices, f"{VARIABLE}={setting}: {len(indices)} distributed workers")


def device_name(device) -> str:
    """'cpu' or 'cuda:N' for an allennlp cuda_device (an int or a torch.device)."""
    if isinstance(device, int):
        return "cpu" if device < 0 else f"cuda:{device}"
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        return "cuda:0"
    return str(device)


@TrainerCallback.register("mtdnn_device_log")
class DeviceLogCallback(TrainerCallback):
    """Logs the device the trainer holds and why it was chosen (`reason`, from
    `choose_device`). Every worker of a distributed run logs its own line.

    # Parameters

    reason : `str`
        Why this device: `MTDNN_DEVICE_REASON`, which the experiment library passes in.
    """

    def __init__(self, serialization_dir: str, reason: str = "set in the config") -> None:
        super().__init__(serialization_dir)
        self.reason = reason

    def on_start(self, trainer, is_primary: bool = True, **kwargs) -> None:
        logger.info("device: %s (%s)", device_name(trainer.cuda_device), self.reason)
