"""Per-task metrics, named in a task definition's ``metrics``.

Most of these are corpus-level (F1, MCC, Pearson), so a ``TaskMetrics`` keeps each evaluated
example's prediction and gold value and computes the requested metrics on demand. In distributed
training the kept values are gathered from every worker before computing, so each worker reports
the metric over the whole data. Values are fractions in [0, 1] (correlations in [-1, 1]), as
allennlp reports them; the results tables multiply by 100.
"""

from typing import Callable, Dict, List, Optional

import numpy
import torch
from allennlp.common.checks import ConfigurationError
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import f1_score, matthews_corrcoef, roc_auc_score

METRICS: Dict[str, Callable[["TaskMetrics"], float]] = {}


def metric(name: str):
    def register(compute: Callable[["TaskMetrics"], float]):
        METRICS[name] = compute
        return compute

    return register


@metric("accuracy")
def _accuracy(m: "TaskMetrics") -> float:
    return float(numpy.mean(numpy.array(m.predictions) == numpy.array(m.gold)))


@metric("f1")
def _f1(m: "TaskMetrics") -> float:
    # Binary tasks (MRPC): F1 of the last declared label; otherwise macro-F1.
    if m.n_class == 2:
        return float(f1_score(m.gold, m.predictions, average="binary", pos_label=1))
    return float(f1_score(m.gold, m.predictions, average="macro"))


@metric("macro_f1")
def _macro_f1(m: "TaskMetrics") -> float:
    return float(f1_score(m.gold, m.predictions, average="macro"))


@metric("mcc")
def _mcc(m: "TaskMetrics") -> float:
    return float(matthews_corrcoef(m.gold, m.predictions))


def _correlation(function, m: "TaskMetrics") -> float:
    if len(m.gold) < 2 or numpy.std(m.predictions) == 0 or numpy.std(m.gold) == 0:
        return 0.0  # undefined for constant input; 0 = no linear/monotonic relation found
    return float(function(m.predictions, m.gold)[0])


@metric("pearson")
def _pearson(m: "TaskMetrics") -> float:
    return _correlation(pearsonr, m)


@metric("spearman")
def _spearman(m: "TaskMetrics") -> float:
    return _correlation(spearmanr, m)


@metric("auc")
def _auc(m: "TaskMetrics") -> float:
    if len(set(m.gold)) < 2:
        return 0.5
    return float(roc_auc_score(m.gold, m.scores))


@metric("mrr")
def _mrr(m: "TaskMetrics") -> float:
    # Ranking: the model records each example's reciprocal rank of the right candidate as its
    # score, so the mean reciprocal rank is their mean.
    return float(numpy.mean(m.scores)) if m.scores else 0.0


def _spans(m: "TaskMetrics"):
    from seqeval.metrics import f1_score as span_f1
    from seqeval.metrics import precision_score, recall_score

    return span_f1, precision_score, recall_score


@metric("span_f1")
def _span_f1(m: "TaskMetrics") -> float:
    return float(_spans(m)[0](m.gold, m.predictions, zero_division=0))


@metric("span_precision")
def _span_precision(m: "TaskMetrics") -> float:
    return float(_spans(m)[1](m.gold, m.predictions, zero_division=0))


@metric("span_recall")
def _span_recall(m: "TaskMetrics") -> float:
    return float(_spans(m)[2](m.gold, m.predictions, zero_division=0))


def check_metric_names(task: str, names: List[str]) -> None:
    unknown = [name for name in names if name not in METRICS]
    if unknown:
        raise ConfigurationError(
            f"Task '{task}': unknown metrics {unknown}. Available: {sorted(METRICS)}."
        )


class TaskMetrics:
    """Collects one task's predictions and computes its metrics.

    predictions/gold hold class indices (classification), floats (regression) or tag-string
    lists (sequence labelling); scores hold the positive-class probability for AUC, or for
    ranking the reciprocal rank of the right candidate (MRR).
    """

    def __init__(self, names: List[str], n_class: int) -> None:
        self.names = names
        self.n_class = n_class
        self.reset()

    def reset(self) -> None:
        self.predictions: List = []
        self.gold: List = []
        self.scores: List[float] = []
        self.loss_total = 0.0
        self.batches = 0

    def add(self, predictions: List, gold: List, scores: Optional[List[float]] = None) -> None:
        self.predictions.extend(predictions)
        self.gold.extend(gold)
        if scores is not None:
            self.scores.extend(scores)

    def add_loss(self, loss: float) -> None:
        self.loss_total += loss
        self.batches += 1

    def _gathered(self) -> "TaskMetrics":
        """This worker's values, or in distributed training a copy holding every worker's."""
        if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
            return self
        parts: List = [None] * torch.distributed.get_world_size()
        mine = (self.predictions, self.gold, self.scores, self.loss_total, self.batches)
        torch.distributed.all_gather_object(parts, mine)
        merged = TaskMetrics(self.names, self.n_class)
        for predictions, gold, scores, loss_total, batches in parts:
            merged.add(predictions, gold, scores)
            merged.loss_total += loss_total
            merged.batches += batches
        return merged

    def compute(self, full: bool = True) -> Dict[str, float]:
        """The loss, and unless `full` is False the metrics, over what was added since reset."""
        source = self._gathered()
        values: Dict[str, float] = {}
        if source.batches:
            values["loss"] = source.loss_total / source.batches
        if full and source.gold:
            for name in self.names:
                values[name] = METRICS[name](source)
        return values
