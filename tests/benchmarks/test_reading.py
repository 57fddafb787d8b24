"""benchmarks/reading.py: this tree's reading path against a baseline commit's, as processes."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import FIXTURES, ROOT


@pytest.mark.slow
def test_a_round_reads_with_both_trees_and_compares_their_batches(tmp_path):
    output = tmp_path / "reading.json"
    env = dict(os.environ, MTDNN_DATA=str(FIXTURES / "data"), HF_HUB_OFFLINE="1")
    command = [sys.executable, "benchmarks/reading.py", "--quick", "--rounds", "1"]
    command += ["--baseline", "HEAD", "--output", str(output)]
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    document = json.loads(output.read_text())
    result = document["results"]
    (round_,) = result["rounds"]
    # The baseline's package was the one imported in its process, not the installed one.
    assert round_["baseline"]["package"].endswith("baseline")
    assert round_["this tree"]["package"] == str(ROOT)
    rows = [
        len((FIXTURES / "data" / "glue" / task / "train.tsv").read_text().splitlines()) - 1
        for task in ("RTE", "MRPC")
    ]
    assert result["examples"] == sum(rows)  # every row of the RTE and MRPC train fixtures
    for figures in round_.values():
        assert figures["first_read_seconds"] > 0 and figures["cached_read_seconds"] > 0
        assert figures["peak_rss_mb"] > 0 and figures["load_mean"] >= 0
    # HEAD's reading code is this tree's (committed): the batches are the same, bit for bit.
    assert result["identical_batches"] and result["identical_cached_batches"]
    assert "first read >= 5,000 examples/s" in document["table"]
    assert not (tmp_path / "baseline").exists()
