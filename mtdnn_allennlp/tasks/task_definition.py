"""The one declaration of a task. Readers, heads, losses, metrics and the predictor read it.

A task is declared once, in jsonnet (training_config/tasks.libsonnet holds the library), with the
keys of MT-DNN's task definition files: ``task_type``, ``data_format``, ``labels`` (or
``n_class``), ``metrics`` (MT-DNN's ``metric_meta``), ``loss``, ``kd_loss`` and ``adv_loss``,
plus the file layout (``reader``) and an optional ``head``. What a key may leave out comes from
its task type, in ``TASK_TYPES`` below: the single table of per-type defaults.
"""

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple, Union

from allennlp.common import FromParams, Params
from allennlp.common.checks import ConfigurationError


@dataclass(frozen=True)
class TaskType:
    loss: str
    kd_loss: str
    adv_loss: str
    head: str
    metrics: Tuple[str, ...]
    data_formats: Tuple[str, ...]
    has_labels: bool  # a fixed label set (classification, tagging) rather than scores


TASK_TYPES: Dict[str, TaskType] = {
    "classification": TaskType(
        loss="cross_entropy",
        kd_loss="kl_divergence",
        adv_loss="symmetric_kl",
        head="classification",
        metrics=("accuracy",),
        data_formats=("premise_only", "premise_and_one_hypothesis"),
        has_labels=True,
    ),
    "regression": TaskType(
        loss="mse",
        kd_loss="mse",
        adv_loss="mse",
        head="regression",
        metrics=("pearson", "spearman"),
        data_formats=("premise_only", "premise_and_one_hypothesis"),
        has_labels=False,
    ),
    "sequence_labeling": TaskType(
        loss="sequence_cross_entropy",
        kd_loss="kl_divergence",
        adv_loss="symmetric_kl",
        head="sequence_labeling",
        metrics=("span_f1",),
        data_formats=("sequence",),
        has_labels=True,
    ),
    # MT-DNN's pairwise ranking (QNLI as ranking): one premise, several candidate hypotheses,
    # the label is the index of the right one. Each pair gets one score; softmax across them.
    # Multiple choice (SWAG, ARC, COPA, cloze) is the same model over (context, choice) pairs.
    "ranking": TaskType(
        loss="ranking_cross_entropy",
        kd_loss="kl_divergence",
        adv_loss="symmetric_kl",
        head="ranking",
        metrics=("accuracy",),
        data_formats=("premise_and_multi_hypothesis", "multiple_choice"),
        has_labels=False,
    ),
    # Masked language modelling (pre-training, or an auxiliary task): the targets are the
    # masked word pieces themselves, drawn anew for every batch (docs/pretraining_and_qa.md).
    "masked_lm": TaskType(
        loss="sequence_cross_entropy",
        kd_loss="kl_divergence",
        adv_loss="symmetric_kl",
        head="masked_lm",
        metrics=("accuracy",),
        data_formats=("text",),
        has_labels=False,
    ),
    # Extractive QA (SQuAD v1.1/v2.0): a start and an end logit per word piece.
    "span_extraction": TaskType(
        loss="span_cross_entropy",
        kd_loss="span_kl_divergence",
        # Start and end are distributions over positions, not per-position classes.
        adv_loss="span_symmetric_kl",
        head="span_extraction",
        metrics=("squad_em", "squad_f1"),
        data_formats=("question_and_context",),
        has_labels=False,
    ),
}

LossSpec = Union[str, Dict[str, Any]]


class TaskDefinition(FromParams):
    """
    # Parameters

    name : `str`
        The task's name. Metrics are reported as `<name>_<metric>`.
    task_type : `str`
        One of `TASK_TYPES`: "classification", "regression", "sequence_labeling", "ranking",
        "masked_lm", "span_extraction".
    data_format : `str`
        What an example holds: "premise_only", "premise_and_one_hypothesis", "sequence"
        (words with one tag each), "premise_and_multi_hypothesis" (a premise and candidate
        hypotheses, labelled with the index of the right one), "text" (masked LM),
        "question_and_context" (SQuAD) or "multiple_choice" (a context and/or question and
        candidate answers, labelled with the right one's index or text).
    reader : `Dict[str, Any]`
        The file layout: a registered DatasetReader of this package (e.g.
        `{"type": "mtdnn_glue_tsv", ...}`) without the task, encoder and length settings, which
        come from elsewhere.
    labels : `List[str]`, optional
        The label set, in the order the head's outputs use. Required when the task type has
        labels. A label a data file uses that is not here is an error, never a new class.
    n_class : `int`, optional
        Number of outputs. Defaults to `len(labels)`, or 1 for regression.
    metrics : `List[str]`, optional
        Metric names (see `mtdnn_allennlp.metrics`); the task type's by default.
    loss, kd_loss, adv_loss : `str` or `Dict`, optional
        Registered names of `TaskLoss` (with parameters as a dict): the training loss, the loss
        against a teacher's soft targets, and the divergence used by adversarial training.
    head : `Dict[str, Any]`, optional
        The head's parameters; `type` defaults to the task type's head.
    dropout : `float`, optional (default = `0.1`)
        Dropout before the task's output layer.
    loss_weight : `float`, optional (default = `1.0`)
        Multiplies this task's loss in multi-task training.
    layouts : `Dict[str, Dict[str, Any]]`, optional
        Other layouts of this task's files, by name: changes to `reader` for a file laid out
        differently (a headerless gold test file, say). A data path picks one with
        `{"path": ..., "layout": NAME}` (`allennlp evaluate`, docs/task_library.md).
    target_scale : `List[float]`, optional
        Regression only: `[low, high]`, the range of the scores. The head learns scores mapped
        to [0, 1] and maps its predictions back, so a 1-5 or 0-5 score weighs in a multi-task
        loss like a class probability (docs/sampling.md). Metrics and predictions are in the
        original units.
    """

    def __init__(
        self,
        name: str,
        task_type: str,
        data_format: str,
        reader: Dict[str, Any],
        labels: Optional[List[str]] = None,
        n_class: Optional[int] = None,
        metrics: Optional[List[str]] = None,
        loss: Optional[LossSpec] = None,
        kd_loss: Optional[LossSpec] = None,
        adv_loss: Optional[LossSpec] = None,
        head: Optional[Dict[str, Any]] = None,
        dropout: float = 0.1,
        loss_weight: float = 1.0,
        layouts: Optional[Dict[str, Dict[str, Any]]] = None,
        target_scale: Optional[Tuple[float, float]] = None,
    ) -> None:
        if task_type not in TASK_TYPES:
            raise ConfigurationError(
                f"Task '{name}': unknown task_type '{task_type}'. Use one of {sorted(TASK_TYPES)}."
            )
        kind = TASK_TYPES[task_type]
        if data_format not in kind.data_formats:
            raise ConfigurationError(
                f"Task '{name}': data_format '{data_format}' does not fit task_type "
                f"'{task_type}'. Use one of {list(kind.data_formats)}."
            )
        if kind.has_labels and not labels:
            raise ConfigurationError(
                f"Task '{name}': a {task_type} task needs its label set: add labels: [...]."
            )
        if labels is not None and len(set(labels)) != len(labels):
            raise ConfigurationError(f"Task '{name}': labels repeat a value: {labels}.")
        if n_class is None:
            n_class = len(labels) if labels else 1
        elif labels and n_class != len(labels):
            raise ConfigurationError(
                f"Task '{name}': n_class is {n_class} but {len(labels)} labels are declared."
            )
        self.name = name
        self.task_type = task_type
        self.data_format = data_format
        self.reader = dict(reader)
        self.labels = list(labels) if labels else None
        self.n_class = n_class
        self.metrics = list(metrics) if metrics else list(kind.metrics)
        self.loss = loss or kind.loss
        self.kd_loss = kd_loss or kind.kd_loss
        self.adv_loss = adv_loss or kind.adv_loss
        for key in ("loss", "kd_loss", "adv_loss"):
            _check_loss_name(name, key, getattr(self, key))
        self.head = dict(head or {})
        self.head.setdefault("type", kind.head)
        self.dropout = dropout
        self.loss_weight = loss_weight
        self.layouts = {name: dict(layout) for name, layout in (layouts or {}).items()}
        if target_scale is not None:
            if task_type != "regression":
                raise ConfigurationError(
                    f"Task '{name}': target_scale is for regression tasks; remove it."
                )
            low, high = (float(value) for value in target_scale)
            if not high > low:
                raise ConfigurationError(
                    f"Task '{name}': target_scale is [low, high] with high > low, not "
                    f"{list(target_scale)}."
                )
            target_scale = (low, high)
        self.target_scale = target_scale
        self._label_index = {label: i for i, label in enumerate(self.labels or [])}

    def label_index(self, label: str) -> int:
        """The output index of a label; raises KeyError for a label the task does not declare."""
        return self._label_index[label]

    def build_loss(self, which: str = "loss"):
        from mtdnn_allennlp.losses import ScaledTargetLoss, TaskLoss

        spec = getattr(self, which)
        params = Params({"type": spec} if isinstance(spec, str) else dict(spec))
        loss = TaskLoss.from_params(params)
        if self.target_scale is not None:
            # The head predicts in the scores' own units; every loss of the task compares them
            # on [0, 1].
            loss = ScaledTargetLoss(loss, *self.target_scale)
        return loss

    def __repr__(self) -> str:
        return f"TaskDefinition({self.name}, {self.task_type}, {self.data_format})"


def _check_loss_name(task: str, key: str, spec: LossSpec) -> None:
    from mtdnn_allennlp.common.config_check import did_you_mean
    from mtdnn_allennlp.losses import TaskLoss

    name = spec if isinstance(spec, str) else dict(spec).get("type")
    registered = TaskLoss.list_available()
    if name not in registered:
        raise ConfigurationError(
            f"Task '{task}': unknown {key} '{name}'.{did_you_mean(str(name), registered)} "
            f"Registered losses: {sorted(registered)}."
        )
