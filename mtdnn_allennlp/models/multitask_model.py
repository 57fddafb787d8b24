"""MT-DNN: one shared encoder, one head per task, each task's loss and metrics from its definition.

Batches hold one task each (the multi-task loader makes them so), which keeps every step a
plain forward and backward pass through the encoder and one head.
"""

from copy import deepcopy
from statistics import mean
from typing import Any, Callable, Dict, List, Optional

import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.common.params import remove_keys_from_params
from allennlp.data import TextFieldTensors, Vocabulary
from allennlp.models import Model
from allennlp.nn import InitializerApplicator

from mtdnn_allennlp.common.running_mean import RunningMean
from mtdnn_allennlp.losses import IGNORE_INDEX
from mtdnn_allennlp.metrics import TaskMetrics, check_metric_names
from mtdnn_allennlp.models.archive_init import ArchiveInitializer
from mtdnn_allennlp.models.heads import TaskHead
from mtdnn_allennlp.modules.shared_encoder import SharedEncoder
from mtdnn_allennlp.tasks import TaskDefinition


@Model.register("mtdnn")
class MultiTaskModel(Model):
    """
    # Parameters

    vocab : `Vocabulary`
    encoder : `SharedEncoder`
        The encoder all tasks share.
    tasks : `List[TaskDefinition]`
        The tasks, each with its own head, loss and metrics.
    initializer : `InitializerApplicator`, optional
        Applied to the heads only: the encoder keeps its pretrained weights.
    hard_loss_weight : `float`, optional (default = `0.5`)
    soft_loss_weight : `float`, optional (default = `0.5`)
        Knowledge distillation (docs/distillation.md): for a batch with soft targets (the
        `mtdnn_distillation` reader adds them), a task's loss is `hard_loss_weight` times its
        loss against the gold labels plus `soft_loss_weight` times its `kd_loss` against the
        teachers' targets; the paper's average by default. Batches without soft targets use
        the hard loss alone.
    init_from_archive : `ArchiveInitializer`, optional
        Multi-stage training: copy the encoder and heads of a trained archive after building
        (`models/archive_init.py`, docs/multistage.md). Ignored when an archive is loaded.
    """

    default_predictor = "mtdnn"

    def __init__(
        self,
        vocab: Vocabulary,
        encoder: SharedEncoder,
        tasks: List[TaskDefinition],
        initializer: InitializerApplicator = InitializerApplicator(),
        hard_loss_weight: float = 0.5,
        soft_loss_weight: float = 0.5,
        init_from_archive: Optional[ArchiveInitializer] = None,
        **kwargs,
    ) -> None:
        super().__init__(vocab, **kwargs)
        self.hard_loss_weight = hard_loss_weight
        self.soft_loss_weight = soft_loss_weight
        self.kd_losses = torch.nn.ModuleDict()
        self.encoder = encoder
        self.tasks = {task.name: task for task in tasks}
        self.heads = torch.nn.ModuleDict()
        self.losses = torch.nn.ModuleDict()
        self.metrics: Dict[str, TaskMetrics] = {}
        for task in tasks:
            self.heads[task.name] = TaskHead.from_params(
                Params(deepcopy(task.head)),
                input_dim=encoder.hidden_size,
                task=task,
                encoder=encoder,
            )
            self.losses[task.name] = task.build_loss("loss")
            self.kd_losses[task.name] = task.build_loss("kd_loss")
            check_metric_names(task.name, task.metrics)
            self.metrics[task.name] = task.kind.build_metrics(task)
        initializer(self.heads)
        # Set by the adversarial training callback: while training, forward then also returns
        # what a second pass from perturbed word embeddings needs (see `perturbed_logits`).
        self.expose_adversarial_inputs = False
        # Set by the R3F callback: `noisy_copy(word_embeddings, mask)` returns the noise of this
        # batch's noisy copy, which forward then runs in the same encoder call as the batch.
        self.noisy_copy: Optional[Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = None
        # Extra training statistics reported with the metrics (console, TensorBoard), keyed by
        # metric name; each is called with `reset` and returns None when it has nothing yet.
        self.training_monitors: Dict[str, Callable[[bool], Optional[float]]] = {}
        if init_from_archive is not None:
            init_from_archive(self)

    @classmethod
    def _load(cls, config: Params, serialization_dir, weights_file=None, cuda_device=-1):
        # The archive's weights already include what init_from_archive copied in at the start
        # of training; loading must neither redo it nor need the stage-1 archive to exist.
        config = config.duplicate()
        remove_keys_from_params(config.get("model"), ["init_from_archive"])
        return super()._load(config, serialization_dir, weights_file, cuda_device)

    def task_of(self, task: List[str]) -> str:
        names = set(task)
        if len(names) != 1:
            raise ValueError(f"A batch must hold one task; this one holds {sorted(names)}.")
        name = names.pop()
        if name not in self.heads:
            raise ConfigurationError(
                f"Task '{name}' has no head in this model (tasks: {sorted(self.heads)}). "
                "Add its task definition to the model's tasks."
            )
        return name

    def forward(  # type: ignore[override]
        self,
        tokens: TextFieldTensors,
        task: List[str],
        label: Optional[torch.Tensor] = None,
        metadata: Optional[List[Dict[str, Any]]] = None,
        soft_target: Optional[torch.Tensor] = None,
        soft_target_mask: Optional[torch.Tensor] = None,
        answer_mask: Optional[torch.Tensor] = None,
    ) -> Dict[str, Any]:
        name = self.task_of(task)
        pieces = tokens["tokens"]
        token_ids = pieces["token_ids"]
        head = self.heads[name]
        # The type's own inputs and targets (masked LM draws them anew for every batch).
        token_ids, label = self.tasks[name].kind.prepare_inputs(
            head, token_ids, pieces["mask"], label
        )
        expose = self.training and self.expose_adversarial_inputs
        word_embeddings = self.encoder.embed_words(token_ids) if expose else None
        noise = None
        if expose and self.noisy_copy is not None:
            # R3F's noisy pass starts from the word embeddings detached (as in the paper's
            # code) and runs stacked under the clean batch: one encoder call on twice the rows
            # uses a core better than two calls (docs/adversarial.md).
            detached = word_embeddings.detach()
            noise = self.noisy_copy(detached, pieces["mask"])
            stacked = torch.cat([word_embeddings, detached + noise])
            encoded, noisy_encoded = self._encode(
                None, _twice(pieces["mask"]), _twice(pieces.get("type_ids")), stacked
            ).chunk(2)
        else:
            encoded = self._encode(
                token_ids, pieces["mask"], pieces.get("type_ids"), word_embeddings
            )
        # Extractive QA also says where an answer may start and end.
        extra = {} if answer_mask is None else {"answer_mask": answer_mask}
        if self._predicts_masked_pieces_only(name, label, soft_target, expose):
            chosen = label != IGNORE_INDEX
            encoded, label = encoded[chosen], label[chosen]
            logits = head(encoded, pieces["mask"][chosen])
        else:
            logits = head(encoded, pieces["mask"], type_ids=pieces.get("type_ids"), **extra)
        output: Dict[str, Any] = {"task": task, "logits": logits, "metadata": metadata}
        if expose:
            output["adversarial_inputs"] = {
                "task": name,
                "token_ids": token_ids,
                "word_embeddings": word_embeddings,
                "mask": pieces["mask"],
                "type_ids": pieces.get("type_ids"),
                "logits": logits,
                # What the head needs besides the encoding (the span head's answer mask, the
                # SAN head's kept steps), and where its per-position outputs count.
                "head_inputs": {**extra, **head.replay_inputs()},
                "output_mask": head.output_mask(pieces["mask"], **extra),
            }
            if noise is not None:
                # After the clean head call: a head that draws per call (SAN's kept steps)
                # replays the clean call's draws.
                output["adversarial_inputs"]["noise"] = noise
                output["adversarial_inputs"]["noisy_logits"] = head(
                    noisy_encoded,
                    pieces["mask"],
                    type_ids=pieces.get("type_ids"),
                    **output["adversarial_inputs"]["head_inputs"],
                )
        if label is not None:
            definition = self.tasks[name]
            loss = self.losses[name](logits, label)
            if soft_target is not None:
                kd_loss = self.kd_losses[name](logits, soft_target, soft_target_mask)
                self._kd_loss_mean(name).add(kd_loss.item())
                loss = self.hard_loss_weight * loss + self.soft_loss_weight * kd_loss
            loss = loss * definition.loss_weight
            output["loss"] = loss
            self._update_metrics(name, logits.detach(), label, metadata or [], loss.item())
        return output

    def _predicts_masked_pieces_only(
        self,
        name: str,
        label: Optional[torch.Tensor],
        soft_target: Optional[torch.Tensor],
        adversarial: bool,
    ) -> bool:
        """A type that scores only the pieces with a target (masked LM: the masked pieces, 15%)
        does so, unless the logits of every position are needed: the adversarial pass compares
        them position by position, and soft targets are given per position."""
        chosen_only = self.tasks[name].kind.scores_chosen_pieces_only()
        return chosen_only and label is not None and soft_target is None and not adversarial

    def _kd_loss_mean(self, name: str) -> RunningMean:
        # Reported as `<task>_kd_loss` (training metrics only: validation has no soft targets),
        # so a run shows that its soft targets reached the loss.
        key = f"{name}_kd_loss"
        if key not in self.training_monitors:
            self.training_monitors[key] = RunningMean()
        return self.training_monitors[key]  # type: ignore[return-value]

    def _encode(
        self,
        token_ids: Optional[torch.Tensor],
        mask: torch.Tensor,
        type_ids: Optional[torch.Tensor] = None,
        word_embeddings: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """The shared encoder's output. Ranking inputs, `(batch, candidates, pieces)`, go through
        it as one flat batch of the real candidates (padding candidates are not encoded) and
        come back as `(batch, candidates, pieces, hidden)`, zeros for padding."""
        if mask.dim() == 2:
            return self.encoder(token_ids, mask, type_ids, word_embeddings)
        batch, candidates, length = mask.shape
        flat_mask = mask.reshape(-1, length)
        real = flat_mask.any(-1)

        def real_rows(tensor: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
            if tensor is None:
                return None
            return tensor.reshape(batch * candidates, length, *tensor.shape[3:])[real]

        encoded = self.encoder(
            real_rows(token_ids), flat_mask[real], real_rows(type_ids), real_rows(word_embeddings)
        )
        full = encoded.new_zeros(batch * candidates, length, encoded.size(-1))
        full[real] = encoded
        return full.reshape(batch, candidates, length, -1)

    def perturbed_logits(
        self,
        name: str,
        word_embeddings: torch.Tensor,
        mask: torch.Tensor,
        type_ids: Optional[torch.Tensor] = None,
        **head_inputs: Any,
    ) -> torch.Tensor:
        """Task `name`'s logits from (perturbed) word embeddings; no loss, no metrics.
        `head_inputs`: the clean pass's `adversarial_inputs["head_inputs"]`."""
        encoded = self._encode(None, mask, type_ids, word_embeddings)
        return self.heads[name](encoded, mask, type_ids=type_ids, **head_inputs)

    # --- metrics --------------------------------------------------------------------------

    def _update_metrics(self, name, logits, label, metadata, loss: float) -> None:
        task = self.tasks[name]
        self.metrics[name].add_loss(loss)
        task.kind.update_metrics(
            task, self.heads[name], self.metrics[name], logits, label, metadata
        )

    def get_metrics(self, reset: bool = False) -> Dict[str, float]:
        values: Dict[str, float] = {}
        task_scores = []
        for name, metrics in self.metrics.items():
            # Corpus-level metrics are computed once, at the end of an epoch or evaluation; the
            # progress bar shows the per-task losses meanwhile.
            task_values = metrics.compute(full=reset)
            values.update({f"{name}_{key}": value for key, value in task_values.items()})
            scores = [task_values[key] for key in metrics.names if key in task_values]
            if scores:
                task_scores.append(mean(scores))
            if reset:
                metrics.reset()
        for key, monitor in self.training_monitors.items():
            value = monitor(reset)
            if value is not None:
                values[key] = value
        if task_scores:
            # MT-DNN's summary score: each task's metrics averaged, then tasks averaged.
            values["average"] = mean(task_scores)
        return values

    # --- predictions ----------------------------------------------------------------------

    def make_output_human_readable(self, output_dict: Dict[str, Any]) -> Dict[str, Any]:
        if "logits" not in output_dict:
            return output_dict
        name = self.task_of(output_dict["task"])
        task = self.tasks[name]
        logits = output_dict.pop("logits").detach().float().cpu()
        metadata = output_dict.pop("metadata") or [{} for _ in range(len(logits))]
        output_dict.pop("loss", None)
        readable: Dict[str, Any] = {"task": output_dict["task"]}
        ids = [each.get("id") for each in metadata]
        if any(each is not None for each in ids):
            readable["id"] = ids
        readable.update(task.kind.readable(task, self.heads[name], logits, metadata))
        return readable


def _twice(tensor: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    """`tensor` stacked on itself along the batch, for a batch and its noisy copy."""
    return None if tensor is None else torch.cat([tensor, tensor])
