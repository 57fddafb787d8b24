"""TaskMetrics against values worked out by hand, cross-checked with sklearn, scipy and seqeval."""

import math

import numpy
import pytest
from allennlp.common.checks import ConfigurationError
from allennlp.common.util import import_module_and_submodules
from scipy.stats import pearsonr, spearmanr
from seqeval.metrics import f1_score as seqeval_f1
from seqeval.metrics import precision_score as seqeval_precision
from seqeval.metrics import recall_score as seqeval_recall
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef, roc_auc_score

from mtdnn_allennlp.metrics import METRICS, TaskMetrics, check_metric_names

import_module_and_submodules("mtdnn_allennlp")


def computed(names, n_class, predictions, gold, scores=None):
    metrics = TaskMetrics(list(names), n_class)
    metrics.add(predictions, gold, scores)
    return metrics.compute()


# Binary: tp = 2 (0, 3), fp = 1 (1), fn = 1 (4), tn = 2 (2, 5).
BINARY_GOLD = [1, 0, 0, 1, 1, 0]
BINARY_PRED = [1, 1, 0, 1, 0, 0]


def test_accuracy():
    gold, predictions = [0, 1, 2, 2, 1], [0, 1, 1, 2, 0]
    result = computed(["accuracy"], 3, predictions, gold)
    assert result == {"accuracy": pytest.approx(3 / 5)}
    assert result["accuracy"] == pytest.approx(accuracy_score(gold, predictions))


def test_binary_f1_is_the_last_labels_f1():
    result = computed(["f1"], 2, BINARY_PRED, BINARY_GOLD)
    precision, recall = 2 / 3, 2 / 3
    assert result["f1"] == pytest.approx(2 * precision * recall / (precision + recall))
    assert result["f1"] == pytest.approx(f1_score(BINARY_GOLD, BINARY_PRED, pos_label=1))
    # the positive class is index 1 (MRPC's "paraphrase"), not 0
    gold, predictions = [1, 0, 0, 0, 0], [1, 1, 1, 0, 0]
    skewed = computed(["f1"], 2, predictions, gold)
    assert skewed["f1"] == pytest.approx(2 * 1 / (2 * 1 + 2 + 0))  # class 1: tp 1, fp 2, fn 0
    assert skewed["f1"] != pytest.approx(2 * 2 / (2 * 2 + 0 + 2))  # class 0: tp 2, fp 0, fn 2
    assert skewed["f1"] == pytest.approx(f1_score(gold, predictions, pos_label=1))


def test_multiclass_f1_is_macro():
    gold = [0, 1, 2, 2, 1, 0, 2]
    predictions = [0, 1, 1, 2, 0, 2, 2]
    # per class F1 = 2tp / (2tp + fp + fn): class 0: 2/4, class 1: 2/4, class 2: 4/6
    expected = (0.5 + 0.5 + 4 / 6) / 3
    result = computed(["f1", "macro_f1"], 3, predictions, gold)
    assert result["f1"] == pytest.approx(expected)
    assert result["macro_f1"] == pytest.approx(expected)
    assert expected == pytest.approx(f1_score(gold, predictions, average="macro"))


def test_mcc():
    tp, tn, fp, fn = 2, 2, 1, 1
    expected = (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    result = computed(["mcc"], 2, BINARY_PRED, BINARY_GOLD)
    assert result["mcc"] == pytest.approx(expected) == pytest.approx(1 / 3)
    assert result["mcc"] == pytest.approx(matthews_corrcoef(BINARY_GOLD, BINARY_PRED))
    assert computed(["mcc"], 2, [1, 0, 1, 0], [0, 1, 0, 1])["mcc"] == pytest.approx(-1.0)


def test_pearson_and_spearman():
    predictions = [1.0, 2.0, 3.0, 4.0, 5.5]
    gold = [2.0, 1.0, 4.0, 3.0, 5.0]
    x, y = numpy.array(predictions), numpy.array(gold)
    dx, dy = x - x.mean(), y - y.mean()
    pearson = (dx * dy).sum() / math.sqrt((dx**2).sum() * (dy**2).sum())
    # ranks 1..5 against 2,1,4,3,5: d = -1, 1, -1, 1, 0
    spearman = 1 - 6 * 4 / (5 * (25 - 1))
    result = computed(["pearson", "spearman"], 1, predictions, gold)
    assert result["pearson"] == pytest.approx(pearson)
    assert result["spearman"] == pytest.approx(spearman) == pytest.approx(0.8)
    assert result["pearson"] == pytest.approx(pearsonr(predictions, gold)[0])
    assert result["spearman"] == pytest.approx(spearmanr(predictions, gold)[0])
    assert result["pearson"] != pytest.approx(result["spearman"])


def test_correlation_of_constant_or_single_values_is_zero():
    assert computed(["pearson", "spearman"], 1, [2.0, 2.0, 2.0], [1.0, 2.0, 3.0]) == {
        "pearson": 0.0,
        "spearman": 0.0,
    }
    assert computed(["pearson"], 1, [1.0], [3.0]) == {"pearson": 0.0}


def test_auc():
    gold = [0, 0, 1, 1, 0, 1]
    scores = [0.1, 0.4, 0.35, 0.8, 0.2, 0.7]
    # positive/negative pairs ranked right: 0.35 beats 0.1, 0.2; 0.8 and 0.7 beat all three
    expected = 8 / 9
    predictions = [int(s > 0.5) for s in scores]
    result = computed(["auc", "accuracy"], 2, predictions, gold, scores)
    assert result["auc"] == pytest.approx(expected)
    assert result["auc"] == pytest.approx(roc_auc_score(gold, scores))
    assert result["accuracy"] == pytest.approx(5 / 6)
    assert computed(["auc"], 2, [1, 1], [1, 1], [0.9, 0.2]) == {"auc": 0.5}


def test_span_f1_precision_recall():
    gold = [
        ["B-PER", "I-PER", "O", "B-LOC"],
        ["B-ORG", "O"],
        ["B-LOC", "I-LOC"],
    ]
    predictions = [
        ["B-PER", "I-PER", "O", "B-ORG"],  # PER right, ORG for LOC wrong
        ["B-ORG", "B-MISC"],  # ORG right, MISC spurious
        ["B-LOC", "O"],  # the span is cut short: wrong
    ]
    # gold spans: 4, predicted spans: 5, exact matches: 2
    precision, recall = 2 / 5, 2 / 4
    f1 = 2 * precision * recall / (precision + recall)
    names = ["span_f1", "span_precision", "span_recall"]
    result = computed(names, 9, predictions, gold)
    assert result == {
        "span_f1": pytest.approx(f1),
        "span_precision": pytest.approx(precision),
        "span_recall": pytest.approx(recall),
    }
    assert result["span_f1"] == pytest.approx(seqeval_f1(gold, predictions))
    assert result["span_precision"] == pytest.approx(seqeval_precision(gold, predictions))
    assert result["span_recall"] == pytest.approx(seqeval_recall(gold, predictions))
    # no predicted spans at all: 0, not a division error
    empty = computed(["span_f1", "span_precision"], 9, [["O", "O"]], [["B-PER", "O"]])
    assert empty == {"span_f1": 0.0, "span_precision": 0.0}


def test_values_accumulate_over_batches():
    metrics = TaskMetrics(["accuracy", "f1"], 2)
    metrics.add(BINARY_PRED[:3], BINARY_GOLD[:3])
    metrics.add(BINARY_PRED[3:], BINARY_GOLD[3:])
    assert metrics.compute() == {"accuracy": pytest.approx(4 / 6), "f1": pytest.approx(2 / 3)}


def test_loss_and_full():
    metrics = TaskMetrics(["accuracy"], 2)
    assert metrics.compute() == {}
    metrics.add_loss(1.0)
    metrics.add_loss(2.5)
    assert metrics.compute() == {"loss": pytest.approx(1.75)}  # no predictions yet
    metrics.add([1, 0, 0], [1, 1, 0])
    assert metrics.compute(full=False) == {"loss": pytest.approx(1.75)}
    assert metrics.compute() == {"loss": pytest.approx(1.75), "accuracy": pytest.approx(2 / 3)}
    # compute does not consume: the same values again
    assert metrics.compute() == {"loss": pytest.approx(1.75), "accuracy": pytest.approx(2 / 3)}


def test_reset():
    metrics = TaskMetrics(["accuracy", "auc"], 2)
    metrics.add([1, 1], [1, 0], [0.9, 0.8])
    metrics.add_loss(3.0)
    metrics.reset()
    assert metrics.compute() == {}
    assert (metrics.predictions, metrics.gold, metrics.scores) == ([], [], [])
    metrics.add([0, 1], [0, 1], [0.2, 0.7])
    metrics.add_loss(0.5)
    assert metrics.compute() == {"loss": 0.5, "accuracy": 1.0, "auc": 1.0}


def test_check_metric_names():
    check_metric_names("rte", ["accuracy", "f1", "mcc", "pearson", "spearman", "span_f1"])
    with pytest.raises(ConfigurationError) as info:
        check_metric_names("rte", ["accuracy", "bleu", "rouge"])
    message = str(info.value)
    assert "Task 'rte'" in message and "['bleu', 'rouge']" in message
    assert f"Available: {sorted(METRICS)}" in message
    assert "accuracy" in sorted(METRICS) and "auc" in METRICS
