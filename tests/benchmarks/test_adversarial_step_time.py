"""benchmarks/adversarial_step_time.py: per-repeat ratios to plain steps, and --modes."""

import json
import statistics
import subprocess
import sys

import pytest

from benchmarks import adversarial_step_time as bench
from tests.benchmarks import fixture_env
from tests.conftest import ROOT, TINY_BERT


def _run(tmp_path, *arguments):
    env = fixture_env()
    command = [sys.executable, "benchmarks/adversarial_step_time.py", "--encoder", str(TINY_BERT)]
    command += ["--output", str(tmp_path / "step_time.json"), *arguments]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)


def test_the_mode_names_follow_the_ks_asked_for():
    assert bench.mode_names([1]) == ["plain", "adversarial_k1", "r3f", "naive_k1"]
    assert bench.mode_names([1, 2])[1:3] == ["adversarial_k1", "adversarial_k2"]


def test_an_unknown_mode_is_refused_before_anything_is_built(tmp_path):
    finished = _run(tmp_path, "--modes", "r3f", "smart")
    assert finished.returncode == 2
    assert "--modes: unknown ['smart']" in finished.stderr and "adversarial_k1" in finished.stderr
    assert not (tmp_path / "step_time.json").exists()


@pytest.mark.slow
def test_modes_times_plain_and_the_chosen_mode_with_a_ratio_per_repeat(tmp_path):
    finished = _run(tmp_path, "--modes", "r3f", "--batches", "2", "--repeats", "2")
    assert finished.returncode == 0, finished.stderr[-2000:]
    result = json.loads((tmp_path / "step_time.json").read_text())
    rows = {row["mode"]: row for row in result["rows"]}
    assert set(rows) == {"plain", "r3f"}
    assert rows["plain"]["ratio_to_plain_per_repeat"] == [1.0, 1.0]
    ratios = rows["r3f"]["ratio_to_plain_per_repeat"]
    assert len(ratios) == 2 and all(ratio > 0 for ratio in ratios)
    assert rows["r3f"]["ratio_to_plain_median"] == pytest.approx(statistics.median(ratios))
