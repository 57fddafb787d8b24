"""Per-task metrics, named in a task definition's ``metrics``.

Most of these are corpus-level (F1, MCC, Pearson), so a ``TaskMetrics`` keeps each evaluated
example's prediction and gold value and computes the requested metrics on demand. In distributed
training the kept values are gathered from every worker before computing, so each worker reports
the metric over the whole data. Values are fractions in [0, 1] (correlations in [-1, 1]), as
allennlp reports them; the results tables multiply by 100.
"""

import re
import string
from collections import Counter
from typing import Any, Callable, Dict, List, Optional, Tuple

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


# seqeval is imported on first use: most runs have no tagging task.
@metric("span_f1")
def _span_f1(m: "TaskMetrics") -> float:
    from seqeval.metrics import f1_score

    return float(f1_score(m.gold, m.predictions, zero_division=0))


@metric("span_precision")
def _span_precision(m: "TaskMetrics") -> float:
    from seqeval.metrics import precision_score

    return float(precision_score(m.gold, m.predictions, zero_division=0))


@metric("span_recall")
def _span_recall(m: "TaskMetrics") -> float:
    from seqeval.metrics import recall_score

    return float(recall_score(m.gold, m.predictions, zero_division=0))


def check_metric_names(task: str, names: List[str]) -> None:
    unknown = [name for name in names if name not in METRICS]
    if unknown:
        from mtdnn_allennlp.common.config_check import did_you_mean

        raise ConfigurationError(
            f"Task '{task}': unknown metrics {unknown} in its 'metrics' key."
            f"{did_you_mean(unknown[0], METRICS)} Available: {sorted(METRICS)}."
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
            for name in self.names:
                if name in BREAKDOWNS:
                    values.update(BREAKDOWNS[name](source))
        return values


# --- extractive QA: SQuAD's exact match and F1 ----------------------------------------------
# Each window of a context adds (question id, best span score, span text, no-answer score or
# None) to the predictions and (question id, gold answer texts) to the gold values; a question's
# answer is chosen over all its windows at compute time, since its windows may fall in different
# batches.

Window = Tuple[Any, float, str, Optional[float]]

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """The official SQuAD script's normalisation: lower case, punctuation removed, the articles
    a/an/the removed, whitespace collapsed (in that script's order)."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def squad_exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def squad_f1(prediction: str, gold: str) -> float:
    """Token F1 of the normalised texts; as in the v2.0 script, an empty side scores 1 only when
    both are empty."""
    predicted, expected = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not predicted or not expected:
        return float(predicted == expected)
    common = Counter(predicted) & Counter(expected)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(predicted), overlap / len(expected)
    return 2 * precision * recall / (precision + recall)


def squad_answers(windows: List[Window]) -> Dict[Any, str]:
    """Each question's answer: its best span over its windows, or "" where the lowest no-answer
    score over its windows beats that span (SQuAD v2.0)."""
    grouped: Dict[Any, List[Window]] = {}
    for window in windows:
        grouped.setdefault(window[0], []).append(window)
    answers = {}
    for qid, group in grouped.items():
        best = max(group, key=lambda window: window[1])
        nulls = [window[3] for window in group if window[3] is not None]
        answers[qid] = "" if nulls and min(nulls) > best[1] else best[2]
    return answers


def _squad_scores(m: "TaskMetrics", score: Callable[[str, str], float]) -> Dict[Any, float]:
    """Each question's score: the best over its gold answers."""
    answers = squad_answers(m.predictions)
    gold = {qid: texts for qid, texts in m.gold}
    # The official script takes the best score over a question's gold answers. As in its v2.0
    # version, gold answers that normalise to nothing (e.g. "the") are dropped first, and a
    # question left with none (unanswerable) has the empty answer as its only gold.
    return {
        qid: max(score(answers[qid], text) for text in (_scored_gold(texts) or [""]))
        for qid, texts in gold.items()
    }


def _squad_score(m: "TaskMetrics", score: Callable[[str, str], float]) -> float:
    values = list(_squad_scores(m, score).values())
    return float(numpy.mean(values)) if values else 0.0


def _scored_gold(texts: List[str]) -> List[str]:
    return [text for text in texts if normalize_answer(text)]


@metric("squad_em")
def _squad_em(m: "TaskMetrics") -> float:
    return _squad_score(m, squad_exact_match)


@metric("squad_f1")
def _squad_f1(m: "TaskMetrics") -> float:
    return _squad_score(m, squad_f1)


def _squad_breakdown(name: str, score: Callable[[str, str], float]):
    """SQuAD v2.0's official breakdown of a score: over the questions with an answer (HasAns)
    and those without (NoAns), with their counts, each part only when it has questions, as the
    v2.0 script reports them. Only for a v2.0 model (its windows carry a no-answer score); the
    v1.1 script has no breakdown. A question has an answer when its gold answer list is not
    empty (the script's test)."""

    def breakdown(m: "TaskMetrics") -> Dict[str, float]:
        if all(window[3] is None for window in m.predictions):
            return {}
        scores = _squad_scores(m, score)
        has_answer = {qid: bool(texts) for qid, texts in m.gold}
        values: Dict[str, float] = {}
        for part, wanted in (("has_ans", True), ("no_ans", False)):
            chosen = [scores[qid] for qid, answered in has_answer.items() if answered == wanted]
            if chosen:
                values[f"squad_{part}_{name}"] = float(numpy.mean(chosen))
                values[f"squad_{part}_total"] = float(len(chosen))
        return values

    return breakdown


# Values reported next to a metric (in the metrics and logs) without counting in the task's
# average score: the metric's breakdown.
BREAKDOWNS: Dict[str, Callable[["TaskMetrics"], Dict[str, float]]] = {
    "squad_em": _squad_breakdown("em", squad_exact_match),
    "squad_f1": _squad_breakdown("f1", squad_f1),
}
