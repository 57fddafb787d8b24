"""benchmarks/end_to_end.py: whole-process timing of allennlp train against the bare loop."""

import json
import os
import subprocess
import sys

import pytest

from benchmarks import end_to_end
from tests.benchmarks import fixture_env
from tests.conftest import FIXTURES, ROOT, TINY_BERT


def test_allennlp_training_duration_is_parsed_as_seconds():
    assert end_to_end.parse_duration("0:03:19.500000") == pytest.approx(199.5)
    assert end_to_end.parse_duration("1 day, 1:00:00") == pytest.approx(90000.0)


def test_the_bare_batches_hold_every_example_once_and_sorted_batching_pads_less():
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(TINY_BERT))
    rows = end_to_end.read_pairs(FIXTURES / "data" / "glue" / "RTE" / "train.tsv", 0)
    labels = ["entailment", "not_entailment"]
    padded = {}
    for batching in ("sorted", "random"):
        rng = end_to_end.random.Random(1)
        batches = end_to_end.bare_batches(tokenizer, rows, labels, batching, rng)
        assert sum(len(b["label"]) for b in batches) == len(rows)
        masks = [b["tokens"]["tokens"]["mask"] for b in batches]
        padded[batching] = sum(m.numel() for m in masks)
        real = sum(int(m.sum()) for m in masks)
    assert padded["sorted"] < padded["random"]
    assert real <= padded["sorted"]


@pytest.mark.slow
def test_one_round_on_the_fixtures_times_every_variant_as_a_process(tmp_path):
    output = tmp_path / "e2e.json"
    env = fixture_env()
    command = [sys.executable, "benchmarks/end_to_end.py", "--rounds", "1", "--output"]
    command += [str(output), "--train-examples", "0", "--dev-examples", "0"]
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    result = json.loads(output.read_text())["results"]
    (round_,) = result["rounds"]
    assert set(round_) == {"mtdnn", "bare_sorted", "bare_random"}
    for figures in round_.values():
        assert 0 < figures["loop_seconds"] < figures["process_seconds"]
        assert 0 <= figures["dev_accuracy"] <= 1 and figures["load_mean"] >= 0
    assert round_["bare_sorted"]["padded_tokens"] < round_["bare_random"]["padded_tokens"]
    assert "mtdnn / bare_sorted, loop" in result["ratios"]


def test_variants_without_mtdnn_or_without_a_bare_loop_are_refused():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for variants in (["bare_sorted", "bare_random"], ["mtdnn"]):
        command = [sys.executable, "benchmarks/end_to_end.py", "--variants", *variants]
        finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        assert finished.returncode == 2
        assert "mtdnn and at least one bare loop" in finished.stderr


def test_the_report_covers_only_the_variants_timed():
    figures = {"loop_seconds": 10.0, "process_seconds": 12.0, "dev_accuracy": 0.5}
    figures.update(load_mean=1.0)
    rounds = [{"mtdnn": dict(figures), "bare_sorted": dict(figures, loop_seconds=9.0)}]
    ratios = {"mtdnn / bare_sorted, loop": end_to_end.common.ratio([10.0], [9.0])}
    args = end_to_end.argparse.Namespace(
        variants=["mtdnn", "bare_sorted"], rounds=1, threads=1, train_examples=0, dev_examples=0
    )
    text = end_to_end.markdown({"rounds": rounds, "ratios": ratios}, args)
    assert "| bare_sorted |" in text and "bare_random" not in text
    assert "mtdnn / bare_sorted, loop" in text
