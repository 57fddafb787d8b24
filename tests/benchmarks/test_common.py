"""The benchmarks' shared helpers: interleaving, ratios, tables and result files."""

import json
from argparse import Namespace

import pytest
import torch

from benchmarks import common


def test_interleave_rotates_the_order_and_records_every_repeat():
    order = []
    variants = {name: (lambda name=name: order.append(name)) for name in "abc"}
    seconds = common.interleave(variants, repeats=3, warmup=1)
    assert order[:3] == ["a", "b", "c"]  # the warm-up round, not recorded
    assert order[3:] == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert {name: len(values) for name, values in seconds.items()} == {"a": 3, "b": 3, "c": 3}


def test_ratio_is_the_median_of_per_repeat_ratios():
    # Repeat-by-repeat the first is always twice the second, though the medians of the two
    # series alone would give 6 / 3.5 = 1.71 with the third repeat's load spike.
    result = common.ratio([2.0, 6.0, 40.0], [1.0, 3.0, 20.0])
    assert result["median"] == 2.0 and result["spread"] == 0.0
    assert common.ratio([1.0, 3.0], [1.0, 1.0])["median"] == 2.0


def test_summary_and_table():
    stats = common.summary([1.0, 2.0, 4.0])
    assert (stats["median"], stats["min"], stats["max"], stats["spread"]) == (2.0, 1.0, 4.0, 1.5)
    text = common.table(["name", "value"], [["x", 0.12345], ["y", 12345.0]])
    assert text.splitlines() == ["| name | value |", "|---|---|", "| x | 0.123 |", "| y | 12,345 |"]


def test_write_results_records_the_command_and_machine(tmp_path, capsys):
    path = common.write_results(
        "demo", Namespace(output=tmp_path / "demo.json", quick=True), {"x": 1}, "| table |"
    )
    document = json.loads(path.read_text())
    assert document["results"] == {"x": 1} and document["quick"] is True
    assert document["command"].startswith("python benchmarks/")
    assert document["machine"]["torch"] and document["table"] == "| table |"
    assert "| table |" in capsys.readouterr().out


def test_peak_rss_of_a_child_process_grows_with_what_it_allocates():
    small = common.run_child(["-c", _CHILD.format(size=1)])
    large = common.run_child(["-c", _CHILD.format(size=1000)])
    assert large["peak_rss_mb"] - small["peak_rss_mb"] > 400


_CHILD = (
    "import json; from benchmarks import common; block = b'x' * ({size} << 20); "
    "print(json.dumps({{'peak_rss_mb': common.peak_rss_mb()}}))"
)


def test_benchmarks_run_the_model_and_its_batches_on_the_chosen_device(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("MTDNN_DEVICE", "auto")
    model = torch.nn.Linear(2, 2)
    batches = [{"tokens": {"ids": torch.ones(2, 2)}, "task": ["rte", "rte"]}]
    moved = common.on_benchmark_device(model, batches)
    assert moved[0]["task"] == ["rte", "rte"]
    assert moved[0]["tokens"]["ids"].device == next(model.parameters()).device
    assert next(model.parameters()).device.type == "cpu"
    monkeypatch.setenv("MTDNN_DEVICE", "gpu")
    with pytest.raises(Exception, match="MTDNN_DEVICE='gpu' is not a device"):
        common.on_benchmark_device(model, batches)
