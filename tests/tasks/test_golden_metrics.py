"""The golden run: the per-type code (tasks/types/) gives the figures the code had before it.

fixtures/golden/task_types_metrics.json was written by scripts/make_golden_metrics.py from the
code before the task-type refactoring (issue 13); the same run must give the same training and
validation metrics and the same soft targets, to 1e-6.
"""

import json
import math

import pytest

from scripts.make_golden_metrics import GOLDEN, golden_figures

pytestmark = pytest.mark.slow

TOLERANCE = 1e-6


def _differences(expected, actual, where=""):
    """Every place where `actual` differs from `expected` by more than TOLERANCE."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or set(expected) != set(actual):
            keys = set(expected) ^ set(actual) if isinstance(actual, dict) else "not a dict"
            return [f"{where}: keys differ: {sorted(keys) if isinstance(keys, set) else keys}"]
        return [
            d
            for key in expected
            for d in _differences(expected[key], actual[key], f"{where}/{key}")
        ]
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(expected) != len(actual):
            return [f"{where}: {actual!r} is not a list of {len(expected)}"]
        return [
            d
            for i, pair in enumerate(zip(expected, actual, strict=True))
            for d in _differences(*pair, f"{where}[{i}]")
        ]
    if isinstance(expected, float) or isinstance(actual, float):
        if actual is None or not math.isclose(expected, actual, rel_tol=0, abs_tol=TOLERANCE):
            return [f"{where}: expected {expected}, got {actual}"]
        return []
    return [] if expected == actual else [f"{where}: expected {expected!r}, got {actual!r}"]


def test_golden_run_gives_the_recorded_metrics_and_soft_targets(tmp_path):
    expected = json.loads(GOLDEN.read_text())
    actual = golden_figures(tmp_path)
    differences = _differences(expected, actual)
    assert not differences, "\n".join(differences[:20])
    # Every task type of the golden config reported its metrics.
    for metric in (
        "rte_accuracy",
        "stsb_pearson",
        "conll2003_span_f1",
        "qnli_ranking_mrr",
        "everyday_mc_accuracy",
        "mlm_accuracy",
        "squad_v2_squad_f1",
    ):
        assert f"training_{metric}" in actual["metrics"]


def test_differences_reports_a_changed_figure():
    assert _differences({"a": [1.0, 2.0]}, {"a": [1.0, 2.0 + 1e-7]}) == []
    assert _differences({"a": [1.0, 2.0]}, {"a": [1.0, 2.1]}) == ["/a[1]: expected 2.0, got 2.1"]
    assert _differences({"a": 1}, {"b": 1}) == [": keys differ: ['a', 'b']"]
