"""The one declaration of a task. Readers, heads, losses, metrics and the predictor read it.

A task is declared once, in jsonnet (training_config/tasks.libsonnet holds the library), with the
keys of MT-DNN's task definition files: ``task_type``, ``data_format``, ``labels`` (or
``n_class``), ``metrics`` (MT-DNN's ``metric_meta``), ``loss``, ``kd_loss`` and ``adv_loss``,
plus the file layout (``reader``) and an optional ``head``. What a key may leave out comes from
its task type: a registered ``TaskType`` (``tasks/types/``, one module per type), which also
owns everything else that depends on what the task predicts.
"""

from typing import Any, Dict, List, Optional, Tuple, Union

from allennlp.common import FromParams, Params
from allennlp.common.checks import ConfigurationError

from mtdnn_allennlp.tasks.types import TaskType

LossSpec = Union[str, Dict[str, Any]]


class TaskDefinition(FromParams):
    """
    # Parameters

    name : `str`
        The task's name. Metrics are reported as `<name>_<metric>`.
    task_type : `str` or `Dict[str, Any]`
        A registered `TaskType` (`TaskType.list_available()`): "classification",
        "regression", "sequence_labeling", "ranking", "masked_lm", "span_extraction", ...;
        a type with options as `{"type": NAME, option: value}`. `task_type` is then the name,
        `kind` the type object.
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
        task_type: Union[str, Dict[str, Any]],
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
        try:
            kind = TaskType.named(task_type)
        except ConfigurationError as error:
            raise ConfigurationError(f"Task '{name}': {error.message}") from None
        task_type = kind.name
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
        self.task_type: str = task_type
        self.kind = kind
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
        self.target_scale = target_scale
        kind.check_definition(self)  # e.g. target_scale for regression only
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
