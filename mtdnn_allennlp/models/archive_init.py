"""Multi-stage training: start a model from the encoder and task heads of a trained archive.

MT-DNN's recipe is multi-task learning first, then fine-tuning the multi-task model on each task
alone. Stage 2 is an ordinary "mtdnn" model whose config names the stage-1 archive:

    model: {
      type: 'mtdnn',
      ...,
      init_from_archive: { archive_file: 'runs/mtl/model.tar.gz', heads: ['rte'], encoder: true },
    }

Heads are matched by task name (or through `rename_heads`), and every copied tensor is checked
against the new model: a missing head, a different task type or label list, or a tensor of a
different shape is a ConfigurationError, raised when the model is built, before training starts.
Only weights are taken from the archive; the stage-2 config's own settings (dropout, loss,
metrics, optimizer) apply.
"""

import io
import json
import logging
import tarfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import torch
from allennlp.common import FromParams
from allennlp.common.checks import ConfigurationError
from allennlp.common.file_utils import cached_path

logger = logging.getLogger(__name__)

ENCODER_PREFIX = "encoder."
HEAD_PREFIX = "heads."


class ArchiveInitializer(FromParams):
    """
    # Parameters

    archive_file : `str`
        A `model.tar.gz` written by `allennlp train` of an "mtdnn" model, or the serialization
        directory holding it.
    heads : `List[str]`, optional
        The tasks whose heads to copy. By default, every task of the new model that the archive
        has a head for (none is an error). `[]` copies no head.
    rename_heads : `Dict[str, str]`, optional
        `{new task: archive task}` for heads whose task is named differently in the archive,
        e.g. `{"rte": "mnli"}` would need the same labels in the same order. These are copied in
        addition to `heads`.
    encoder : `bool`, optional (default = `True`)
        Copy the shared encoder.
    """

    def __init__(
        self,
        archive_file: str,
        heads: Optional[List[str]] = None,
        rename_heads: Optional[Dict[str, str]] = None,
        encoder: bool = True,
    ) -> None:
        if not archive_file:
            raise ConfigurationError(
                "init_from_archive: archive_file is empty. Give the model.tar.gz of the run to "
                "start from."
            )
        self.archive_file = archive_file
        self.heads = heads
        self.rename_heads = dict(rename_heads or {})
        self.encoder = encoder

    # --- reading the archive --------------------------------------------------------------

    def _archive_path(self) -> Path:
        try:
            path = Path(cached_path(self.archive_file))
        except FileNotFoundError:
            path = Path(self.archive_file)
        if path.is_dir():
            path = path / "model.tar.gz"
        if not path.is_file():
            raise ConfigurationError(
                f"init_from_archive: no model archive at {path}. Train stage 1 first, or fix "
                "archive_file."
            )
        return path

    def read(self) -> Tuple[Dict[str, Any], Dict[str, torch.Tensor]]:
        """The archive's model config and its weights."""
        path = self._archive_path()
        try:
            with tarfile.open(path, "r:*") as archive:
                config = json.load(archive.extractfile("config.json"))  # type: ignore[arg-type]
                weights = archive.extractfile("weights.th").read()  # type: ignore[union-attr]
        except (tarfile.TarError, KeyError) as error:
            raise ConfigurationError(
                f"init_from_archive: {path} is not a model archive written by allennlp train "
                f"({error})."
            ) from None
        state = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
        return config["model"], state

    # --- copying --------------------------------------------------------------------------

    def head_mapping(self, model_tasks: Dict[str, Any], archive_tasks: Dict[str, Any]) -> Dict:
        """`{new task: archive task}` for the heads to copy."""
        where = f"init_from_archive ({self.archive_file})"
        if self.heads is None:
            mapping = {name: name for name in model_tasks if name in archive_tasks}
            if not mapping and not self.rename_heads:
                raise ConfigurationError(
                    f"{where}: the archive has no head for any of this model's tasks "
                    f"{sorted(model_tasks)}; it has {sorted(archive_tasks)}. Name the heads to "
                    "copy with rename_heads, or set heads: [] to copy the encoder only."
                )
        else:
            mapping = {name: name for name in self.heads}
        mapping.update(self.rename_heads)
        for new, old in mapping.items():
            if new not in model_tasks:
                raise ConfigurationError(
                    f"{where}: head '{new}' was requested but this model has no task '{new}' "
                    f"(its tasks: {sorted(model_tasks)})."
                )
            if old not in archive_tasks:
                raise ConfigurationError(
                    f"{where}: the archive has no head '{old}' (its heads: "
                    f"{sorted(archive_tasks)})."
                )
            ours, theirs = model_tasks[new], archive_tasks[old]
            for key in ("task_type", "labels"):
                if getattr(ours, key) != theirs.get(key):
                    raise ConfigurationError(
                        f"{where}: head '{old}' of the archive has {key} {theirs.get(key)}, "
                        f"task '{new}' has {getattr(ours, key)}. A head only carries over to a "
                        "task with the same type and the same labels in the same order."
                    )
        return mapping

    def __call__(self, model: torch.nn.Module) -> None:
        """Copies the chosen weights into `model` (a MultiTaskModel), checking every tensor."""
        archive_model, state = self.read()
        where = f"init_from_archive ({self.archive_file})"
        if archive_model.get("type") != "mtdnn":
            raise ConfigurationError(
                f"{where}: the archive holds a '{archive_model.get('type')}' model, not 'mtdnn'."
            )
        archive_tasks = {task["name"]: _with_defaults(task) for task in archive_model["tasks"]}
        mapping = self.head_mapping(model.tasks, archive_tasks)  # type: ignore[arg-type]
        ours = model.state_dict()
        copies: Dict[str, str] = {}  # our key: archive key
        if self.encoder:
            copies.update(_matching(ours, state, ENCODER_PREFIX, ENCODER_PREFIX, where, "encoder"))
        for new, old in mapping.items():
            copies.update(
                _matching(
                    ours,
                    state,
                    f"{HEAD_PREFIX}{new}.",
                    f"{HEAD_PREFIX}{old}.",
                    where,
                    f"head {old}",
                )
            )
        for key, source in copies.items():
            if ours[key].shape != state[source].shape:
                raise ConfigurationError(
                    f"{where}: {source} has shape {tuple(state[source].shape)} in the archive "
                    f"but {key} has shape {tuple(ours[key].shape)} here. Use the same encoder "
                    "(MTDNN_ENCODER) and head settings as stage 1."
                )
        model.load_state_dict({key: state[source] for key, source in copies.items()}, strict=False)
        logger.info(
            "Initialised from %s: %s, heads %s",
            self.archive_file,
            "encoder" if self.encoder else "no encoder",
            mapping,
        )


def _with_defaults(task: Dict[str, Any]) -> Dict[str, Any]:
    # Regression tasks declare no labels; a missing key then compares equal to our None.
    return {"labels": None, **task}


def _matching(
    ours: Dict[str, torch.Tensor],
    theirs: Dict[str, torch.Tensor],
    our_prefix: str,
    their_prefix: str,
    where: str,
    what: str,
) -> Dict[str, str]:
    """Pairs the keys under two prefixes; both sides must have the same parameter names."""
    our_keys = {k[len(our_prefix) :] for k in ours if k.startswith(our_prefix)}
    their_keys = {k[len(their_prefix) :] for k in theirs if k.startswith(their_prefix)}
    if our_keys != their_keys:
        missing, extra = sorted(our_keys - their_keys), sorted(their_keys - our_keys)
        raise ConfigurationError(
            f"{where}: the {what} does not fit: the archive lacks {missing[:5]} and has "
            f"{extra[:5]} that this model lacks. Use the same encoder and head type as stage 1."
        )
    return {our_prefix + key: their_prefix + key for key in our_keys}
