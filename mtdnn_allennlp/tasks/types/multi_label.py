"""Multi-label classification: any number of labels of a fixed set per text or text pair.

One sigmoid per label and binary cross-entropy; a label is predicted when its probability is at
least the task's decision `threshold` (`task_type: {type: 'multi_label_classification',
threshold: 0.5}`). Metrics: micro and macro F1 over the labels, and each label's F1
(`f1_<label>`, reported beside them, not counted in the task's average). The predictor returns
the predicted labels and every label's probability. Soft targets are per-label probabilities
(`{"probabilities": [p_label, ...]}`), averaged per label across teachers.

Everything of the type is in this module (its loss, metrics, instance target, predictions,
soft targets, ONNX settings): docs/architecture.md, "Adding a task type".
"""

from typing import Any, Dict, List

import numpy
import torch
import torch.nn.functional as F
from allennlp.common.checks import ConfigurationError
from allennlp.data.fields import TensorField

from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.losses import TaskLoss
from mtdnn_allennlp.metrics import TaskMetrics, metric
from mtdnn_allennlp.tasks.types.base import (
    MIN_PROBABILITY,
    TaskType,
    check_probability_rows,
    probabilities_of,
)
from mtdnn_allennlp.tasks.types.classification import VECTOR_FORM

# --- losses: per label, a Bernoulli distribution given by one logit ------------------------


@TaskLoss.register("binary_cross_entropy")
class BinaryCrossEntropyLoss(TaskLoss):
    """Multi-label: binary cross-entropy of each label's sigmoid against its gold 0/1 (or a
    probability), averaged over labels and examples."""

    def forward(self, input, target, mask=None):
        return F.binary_cross_entropy_with_logits(input.float(), target.to(input.dtype).float())


@TaskLoss.register("binary_kl_divergence")
class BinaryKLDivergenceLoss(TaskLoss):
    """Knowledge distillation for multi-label: per label, the KL divergence from the teacher's
    Bernoulli (`sigmoid(target)`, the target being the teachers' log-odds) to the student's,
    averaged over labels and examples. Its gradient equals binary cross-entropy's against the
    teachers' probabilities."""

    def forward(self, input, target, mask=None):
        return _bernoulli_kl(target.float(), input.float()).mean()


@TaskLoss.register("binary_symmetric_kl")
class BinarySymmetricKLLoss(TaskLoss):
    """Adversarial training for multi-label: the symmetric KL divergence between two sets of
    per-label Bernoulli distributions (clean and perturbed logits)."""

    def forward(self, input, target, mask=None):
        input, target = input.float(), target.float()
        return (_bernoulli_kl(target, input) + _bernoulli_kl(input, target)).mean()


def _bernoulli_kl(reference: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """KL(Bernoulli(sigmoid(reference)) || Bernoulli(sigmoid(other))), per element, from
    logits (log-sigmoids keep it finite for large logits)."""
    p = torch.sigmoid(reference)
    return p * (F.logsigmoid(reference) - F.logsigmoid(other)) + (1 - p) * (
        F.logsigmoid(-reference) - F.logsigmoid(-other)
    )


# --- metrics ---------------------------------------------------------------------------------
# Predictions and gold values are 0/1 rows, one value per label (scikit-learn's multilabel
# indicator format); `macro_f1` (metrics.py) reads them as they are.


@metric("micro_f1")
def _micro_f1(m: TaskMetrics) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(m.gold, m.predictions, average="micro", zero_division=0))


class MultiLabelMetrics(TaskMetrics):
    """The task's metrics, and each label's F1 as `f1_<label>` beside them."""

    def __init__(self, names: List[str], n_class: int, labels: List[str]) -> None:
        super().__init__(names, n_class)
        self.labels = labels

    def compute(self, full: bool = True) -> Dict[str, float]:
        from sklearn.metrics import f1_score

        values = super().compute(full)
        source = self._gathered()
        if full and source.gold:
            per_label = f1_score(
                numpy.array(source.gold),
                numpy.array(source.predictions),
                average=None,
                labels=list(range(len(self.labels))),
                zero_division=0,
            )
            values.update(
                {f"f1_{label}": float(f1) for label, f1 in zip(self.labels, per_label, strict=True)}
            )
        return values


# --- the type --------------------------------------------------------------------------------


@TaskType.register("multi_label_classification")
class MultiLabelClassification(TaskType):
    """
    # Parameters

    threshold : `float`, optional (default = `0.5`)
        A label is predicted when its probability is at least this (metrics, predictions and
        the ONNX export alike).
    """

    loss = "binary_cross_entropy"
    kd_loss = "binary_kl_divergence"
    adv_loss = "binary_symmetric_kl"
    # The classification head: a pooler and one output per label.
    head = "classification"
    metrics = ("micro_f1", "macro_f1")
    data_formats = ("premise_only", "premise_and_one_hypothesis")
    has_labels = True
    soft_target_form = VECTOR_FORM  # one probability per label, averaged per label
    hf_refusal = (
        "the transformers export writes single-label classifiers (a softmax over the labels); "
        "a multi-label task needs one sigmoid per label and its decision threshold, which it "
        "does not write. Use `allennlp export-onnx` (predict_onnx.py decodes multi-label)"
    )

    def __init__(self, threshold: float = 0.5) -> None:
        if not 0.0 < threshold < 1.0:
            raise ConfigurationError(
                f"multi_label_classification: threshold is a probability strictly between 0 "
                f"and 1, not {threshold}."
            )
        self.threshold = threshold

    def check_definition(self, task) -> None:
        super().check_definition(task)
        if task.head.get("type") not in ("classification", "mtdnn_classification"):
            raise ConfigurationError(
                f"Task '{task.name}': a multi-label task uses the classification head (one "
                f"output per label), not '{task.head.get('type')}'."
            )

    # --- data ---------------------------------------------------------------------------

    def label_field(self, reader, label: Any) -> TensorField:
        """The gold labels, a list of label names, as a 0/1 vector over the task's labels."""
        if not isinstance(label, (list, tuple)):
            raise DataError(
                f"label {label!r} is not a list of labels.",
                field="label",
                fix='a multi-label example lists its labels: "label": ["sports", "politics"] '
                "(an empty list for none)",
            )
        target = torch.zeros(reader.task.n_class, dtype=torch.float32)
        for name in label:
            target[reader._index_of(reader._label_name(name), "label")] = 1.0
        return TensorField(target)

    def gold_value(self, task, instance) -> List[str]:
        gold = instance["label"].tensor.tolist()
        return [name for name, value in zip(task.labels, gold, strict=True) if value > 0.5]

    # --- the model ----------------------------------------------------------------------

    def build_metrics(self, task) -> TaskMetrics:
        return MultiLabelMetrics(task.metrics, task.n_class, list(task.labels))

    def predicted(self, logits: torch.Tensor) -> torch.Tensor:
        """Per example and label, 1 where the label is predicted."""
        return (torch.sigmoid(logits.float()) >= self.threshold).long()

    def update_metrics(self, task, head, metrics, logits, label, metadata) -> None:
        metrics.add(self.predicted(logits).tolist(), label.round().long().tolist())

    def readable(self, task, head, logits, metadata) -> Dict[str, List[Any]]:
        probabilities = torch.sigmoid(logits.float()).tolist()
        chosen = self.predicted(logits).tolist()
        return {
            "labels": [
                [name for name, on in zip(task.labels, row, strict=True) if on] for row in chosen
            ],
            "probabilities": [
                dict(zip(task.labels, [round(p, 6) for p in row], strict=True))
                for row in probabilities
            ],
        }

    # --- soft targets -------------------------------------------------------------------

    def soft_record(self, task, logits, metadata, candidates):
        return {"probabilities": torch.sigmoid(logits.float()).tolist()}

    def check_soft_record(self, task, record, fail) -> None:
        probabilities = probabilities_of(task, record, fail)
        check_probability_rows(task, [probabilities], fail)
        for value in probabilities:
            if value > 1:
                fail(
                    f"probability {value!r} is above 1.",
                    "probabilities",
                    "a multi-label soft target holds each label's probability, in [0, 1]",
                )

    def soft_target(self, task, record, metadata, length, mismatch):
        """The teachers' per-label log-odds, which `binary_kl_divergence` reads back through a
        sigmoid."""
        p = torch.tensor(record["probabilities"], dtype=torch.float32)
        p = p.clamp(MIN_PROBABILITY, 1 - 1e-7)  # finite log-odds for 0 and 1
        return torch.log(p) - torch.log1p(-p), None

    # --- ONNX -----------------------------------------------------------------------------

    def onnx_heads(self):
        from mtdnn_allennlp.models.heads.task_head import ClassificationHead

        return (ClassificationHead,)

    def onnx_settings(self, task, head, task_reader) -> Dict:
        return {"threshold": self.threshold}
