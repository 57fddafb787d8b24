"""benchmarks/loop_profile.py: py-spy samples of a training epoch, split by layer."""

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import loop_profile
from tests.benchmarks import fixture_env
from tests.conftest import FIXTURES, ROOT

TRAINER = "GradientDescentTrainer._train_epoch (site-packages/allennlp/training/trainer.py:510)"
TORCH = "Linear.forward (site-packages/torch/nn/modules/linear.py:125)"
METRICS = "MultiTaskModel.get_metrics (mtdnn_allennlp/models/multitask_model.py:300)"
BAR = "tqdm.update (site-packages/tqdm/std.py:1240)"
IMPORT = "<module> (site-packages/allennlp/__init__.py:1)"
BARE = "BareLoop.epoch (benchmarks/bare.py:92)"


def _raw(path, lines):
    path.write_text("".join(f"{';'.join(stack)} {count}\n" for stack, count in lines))
    return path


def test_frames_go_to_the_layer_of_their_file():
    assert loop_profile.layer(TORCH) == "torch/transformers"
    assert loop_profile.layer("BertLayer.forward (site-packages/transformers/x.py:3)") == (
        "torch/transformers"
    )
    assert loop_profile.layer(METRICS) == "mtdnn_allennlp"
    assert loop_profile.layer(TRAINER) == "allennlp"
    assert loop_profile.layer(BAR) == "tqdm"
    assert loop_profile.layer(BARE) == "benchmarks"
    assert loop_profile.layer("Counter.update (collections/__init__.py:670)") == "other Python"


def test_only_samples_inside_the_epoch_count_and_the_leaf_frame_decides(tmp_path):
    raw = _raw(
        tmp_path / "mtdnn.txt",
        [
            (["main (x.py:1)", TRAINER, TORCH], 30),  # arithmetic under the trainer
            (["main (x.py:1)", TRAINER, METRICS], 6),
            (["main (x.py:1)", TRAINER, METRICS, TORCH], 2),  # torch called by the package
            (["main (x.py:1)", TRAINER, BAR], 2),
            (["main (x.py:1)", IMPORT], 100),  # outside the epoch: not counted
        ],
    )
    figures = loop_profile.epoch_layers(raw, "mtdnn", rate=10.0)
    assert figures["epoch_seconds_sampled"] == pytest.approx(4.0)
    assert figures["seconds"]["torch/transformers"] == pytest.approx(3.2)
    assert figures["seconds"]["mtdnn_allennlp"] == pytest.approx(0.6)
    assert figures["seconds"]["tqdm"] == pytest.approx(0.2)
    assert figures["seconds"]["allennlp"] == 0
    assert sum(figures["share"].values()) == pytest.approx(1.0)
    packed = tmp_path / "mtdnn.txt.gz"
    packed.write_bytes(gzip.compress(raw.read_bytes()))
    assert loop_profile.epoch_layers(packed, "mtdnn", rate=10.0) == figures


def test_a_profile_of_the_other_variant_or_a_bad_line_is_refused(tmp_path):
    bare = _raw(tmp_path / "bare.txt", [(["main (x.py:1)", BARE, TORCH], 5)])
    with pytest.raises(ValueError, match="no sample inside 'GradientDescentTrainer"):
        loop_profile.epoch_layers(bare, "mtdnn", rate=20.0)
    broken = tmp_path / "broken.txt"
    broken.write_text(f"{TORCH};{BARE} 3\n 4\nnot a profile\n")
    with pytest.raises(ValueError, match="broken.txt:3: not a py-spy raw line"):
        loop_profile.epoch_layers(broken, "bare_sorted", rate=20.0)


def test_from_raw_writes_the_report_of_both_variants(tmp_path):
    mtdnn = _raw(tmp_path / "m.txt", [(["a (x.py:1)", TRAINER, TORCH], 19), ([TRAINER, BAR], 1)])
    bare = _raw(tmp_path / "b.txt", [(["a (x.py:1)", BARE, TORCH], 20)])
    output = tmp_path / "profile.json"
    command = [sys.executable, "benchmarks/loop_profile.py", "--from-raw", str(mtdnn), str(bare)]
    command += ["--output", str(output)]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    result = json.loads(output.read_text())["results"]
    assert result["variants"]["mtdnn"]["share"]["tqdm"] == pytest.approx(0.05)
    assert result["variants"]["bare_sorted"]["share"]["torch/transformers"] == pytest.approx(1.0)
    assert "| mtdnn | 1.0 |" in json.loads(output.read_text())["table"]


@pytest.mark.slow
def test_both_variants_run_under_py_spy_on_the_fixtures(tmp_path):
    spy = shutil.which("py-spy") or str(ROOT / ".venv" / "bin" / "py-spy")
    output = tmp_path / "profile.json"
    # The fixture RTE (64 pairs) repeated 20 times, so that the tiny encoder's epoch lasts long
    # enough to be sampled on a busy machine.
    rte = FIXTURES / "data" / "glue" / "RTE"
    header, *rows = (rte / "train.tsv").read_text().splitlines()
    folder = tmp_path / "data" / "glue" / "RTE"
    folder.mkdir(parents=True)
    copies = [f"{n}\t{row.split(chr(9), 1)[1]}" for n, row in enumerate(rows * 20)]
    (folder / "train.tsv").write_text("\n".join([header, *copies]) + "\n")
    shutil.copy(rte / "dev.tsv", folder / "dev.tsv")
    env = dict(fixture_env(), MTDNN_DATA=str(tmp_path / "data"))
    command = [sys.executable, "benchmarks/loop_profile.py", "--py-spy", spy, "--rate", "200"]
    command += ["--train-examples", "0", "--dev-examples", "0", "--output", str(output)]
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr[-3000:]
    result = json.loads(output.read_text())["results"]
    assert set(result["variants"]) == {"mtdnn", "bare_sorted"}
    for figures in result["variants"].values():
        assert figures["epoch_seconds_sampled"] > 0
        assert sum(figures["share"].values()) == pytest.approx(1.0)
    # The raw profiles the JSON names are kept beside it and re-analyse to the same figures.
    for variant, path in result["raw_profiles"].items():
        assert Path(path) == tmp_path / f"profile_{variant}.raw.txt.gz"
        again = loop_profile.epoch_layers(Path(path), variant, rate=200)
        assert again == result["variants"][variant]
