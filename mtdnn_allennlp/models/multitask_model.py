"""MT-DNN: one shared encoder, one head per task, each task's loss and metrics from its definition.

Batches hold one task each (the multi-task loader makes them so), which keeps every step a
plain forward and backward pass through the encoder and one head.
"""

from copy import deepcopy
from statistics import mean
from typing import Any, Dict, List, Optional

import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.data import TextFieldTensors, Vocabulary
from allennlp.models import Model
from allennlp.nn import InitializerApplicator

from mtdnn_allennlp.losses import IGNORE_INDEX
from mtdnn_allennlp.metrics import TaskMetrics, check_metric_names, squad_answers
from mtdnn_allennlp.models.heads import TaskHead
from mtdnn_allennlp.modules.shared_encoder import SharedEncoder
from mtdnn_allennlp.tasks import TaskDefinition

OUTSIDE = "O"  # the tag predicted for a word that truncation left without a word piece


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
    """

    default_predictor = "mtdnn"

    def __init__(
        self,
        vocab: Vocabulary,
        encoder: SharedEncoder,
        tasks: List[TaskDefinition],
        initializer: InitializerApplicator = InitializerApplicator(),
        **kwargs,
    ) -> None:
        super().__init__(vocab, **kwargs)
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
            check_metric_names(task.name, task.metrics)
            self.metrics[task.name] = TaskMetrics(task.metrics, task.n_class)
        initializer(self.heads)

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
        answer_mask: Optional[torch.Tensor] = None,
    ) -> Dict[str, Any]:
        name = self.task_of(task)
        pieces = tokens["tokens"]
        token_ids = pieces["token_ids"]
        head = self.heads[name]
        if self.tasks[name].task_type == "masked_lm":
            # Masked LM makes its inputs and targets from the text, anew for every batch.
            token_ids, label = head.corrupt(token_ids, pieces["mask"])
        encoded = self.encoder(token_ids, pieces["mask"], pieces.get("type_ids"))
        if answer_mask is not None:  # extractive QA: where an answer may start and end
            logits = head(encoded, pieces["mask"], answer_mask=answer_mask)
        else:
            logits = head(encoded, pieces["mask"])
        output: Dict[str, Any] = {"task": task, "logits": logits, "metadata": metadata}
        if label is not None:
            definition = self.tasks[name]
            loss = self.losses[name](logits, label) * definition.loss_weight
            output["loss"] = loss
            self._update_metrics(name, logits.detach(), label, metadata or [], loss.item())
        return output

    # --- metrics --------------------------------------------------------------------------

    def _update_metrics(self, name, logits, label, metadata, loss: float) -> None:
        task = self.tasks[name]
        metrics = self.metrics[name]
        metrics.add_loss(loss)
        if task.task_type == "classification":
            probabilities = logits.softmax(-1)
            metrics.add(
                probabilities.argmax(-1).tolist(),
                label.tolist(),
                probabilities[:, -1].tolist(),
            )
        elif task.task_type == "regression":
            metrics.add(logits.float().tolist(), label.float().tolist())
        elif task.task_type == "sequence_labeling":
            predicted = self.word_tags(name, logits, metadata)
            metrics.add(predicted, [each["tags"] for each in metadata])
        elif task.task_type == "masked_lm":
            chosen = label != IGNORE_INDEX
            metrics.add(logits.argmax(-1)[chosen].tolist(), label[chosen].tolist())
        elif task.task_type == "span_extraction":
            metrics.add(
                self.heads[name].best_spans(logits, metadata),
                [(each["id"], each["answers"]) for each in metadata],
            )

    def word_tags(self, name: str, logits: torch.Tensor, metadata: List[Dict]) -> List[List[str]]:
        """Each word's tag, read at its first word piece."""
        labels = self.tasks[name].labels or []
        best = logits.argmax(-1).tolist()
        return [
            [labels[best[row][start]] if start >= 0 else OUTSIDE for start in each["word_starts"]]
            for row, each in enumerate(metadata)
        ]

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
        if task.task_type == "classification":
            probabilities = logits.softmax(-1)
            labels = task.labels or []
            readable["label"] = [labels[i] for i in probabilities.argmax(-1).tolist()]
            readable["probabilities"] = [
                dict(zip(labels, [round(p, 6) for p in row], strict=True))
                for row in probabilities.tolist()
            ]
        elif task.task_type == "regression":
            readable["score"] = logits.tolist()
        elif task.task_type == "sequence_labeling":
            readable["words"] = [each["words"] for each in metadata]
            readable["tags"] = self.word_tags(name, logits, metadata)
        elif task.task_type == "span_extraction":
            answers = squad_answers(self.heads[name].best_spans(logits, metadata))
            readable["answer"] = [answers[each["id"]] for each in metadata]
        return readable
