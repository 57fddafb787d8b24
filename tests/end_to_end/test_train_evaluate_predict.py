"""End to end through the stock `allennlp` console script: train, evaluate, predict, recover."""

import json
from pathlib import Path

import pytest
import torch

from tests.conftest import FIXTURES, ROOT, cli_env, run_allennlp
from tests.support.crash_callback import CRASH_VARIABLE

pytestmark = pytest.mark.slow

DEMO_CONFIG = "training_config/demo.jsonnet"
DEMO_INPUTS = FIXTURES / "demo" / "inputs.jsonl"
COMPAT_WARNINGS = ("torch.cuda.amp", "assert_allclose", "FutureWarning", "AdamW is deprecated")


@pytest.fixture(scope="module")
def training_run(trained_run):
    output = trained_run(DEMO_CONFIG)
    return output, (output.parent / "run.log").read_text()


@pytest.fixture(scope="module")
def trained(training_run) -> Path:
    return training_run[0]


def test_train_writes_archive_metrics_and_tensorboard(trained):
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["epoch"] == 1  # two epochs, counted from 0
    for key in ("validation_rte_accuracy", "validation_stsb_pearson", "validation_average"):
        assert key in metrics
    assert 0.0 <= metrics["validation_sst2_accuracy"] <= 1.0
    assert (trained / "model.tar.gz").stat().st_size > 0
    assert list(trained.rglob("events.out.tfevents.*")), "no TensorBoard log written"


def test_train_shows_no_warnings_from_the_compatibility_fixes(training_run):
    stderr = training_run[1]
    assert "Beginning training" in stderr  # the log was captured
    for warning in COMPAT_WARNINGS:
        assert warning not in stderr


def test_evaluate_takes_a_task_to_file_mapping(trained, tmp_path):
    mapping = {
        "rte": str(FIXTURES / "data/glue/RTE/dev.tsv"),
        "sst2": str(FIXTURES / "data/glue/SST-2/dev.tsv"),
    }
    output = tmp_path / "metrics.json"
    run_allennlp(
        [
            "evaluate",
            str(trained / "model.tar.gz"),
            json.dumps(mapping),
            "--output-file",
            str(output),
        ]
    )
    metrics = json.loads(output.read_text())
    assert set(metrics) >= {"rte_accuracy", "sst2_accuracy", "average", "loss"}
    assert "stsb_pearson" not in metrics  # only the tasks asked for
    assert metrics["average"] == pytest.approx(
        (metrics["rte_accuracy"] + metrics["sst2_accuracy"]) / 2
    )


def test_predict_keeps_input_order_with_label_strings(trained, tmp_path):
    output = tmp_path / "predictions.jsonl"
    run_allennlp(
        [
            "predict",
            str(trained / "model.tar.gz"),
            str(DEMO_INPUTS),
            "--output-file",
            str(output),
            "--silent",
        ]
    )
    inputs = [json.loads(line) for line in DEMO_INPUTS.read_text().splitlines()]
    predictions = [json.loads(line) for line in output.read_text().splitlines()]
    assert [p["id"] for p in predictions] == [i["id"] for i in inputs]
    assert [p["task"] for p in predictions] == [i["task"] for i in inputs]
    for prediction in predictions:
        if prediction["task"] == "stsb":
            assert isinstance(prediction["score"], float)
        else:
            labels = {"rte": {"entailment", "not_entailment"}, "sst2": {"negative", "positive"}}
            assert prediction["label"] in labels[prediction["task"]]
            assert set(prediction["probabilities"]) == labels[prediction["task"]]
            assert sum(prediction["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)


def test_predict_names_the_line_of_an_unknown_task(trained, tmp_path):
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text(
        '{"task": "rte", "premise": "a", "hypothesis": "b"}\n'
        '{"task": "mnli", "premise": "a", "hypothesis": "b"}\n'
    )
    result = run_allennlp(
        [
            "predict",
            str(trained / "model.tar.gz"),
            str(inputs),
            "--output-file",
            str(tmp_path / "out.jsonl"),
            "--silent",
        ],
        check=False,
    )
    assert result.returncode != 0
    assert f"{inputs}:2" in result.stderr and "unknown task 'mnli'" in result.stderr


def _final_weights(run: Path) -> dict:
    return torch.load(run / "best.th", map_location="cpu")


def test_recover_resumes_without_losing_or_repeating_an_epoch(tmp_path):
    config = "fixtures/configs/recover.jsonnet"
    plain, crashed = tmp_path / "plain", tmp_path / "crashed"
    run_allennlp(
        ["train", config, "-s", str(plain), "--include-package", "tests.support.crash_callback"]
    )

    env = cli_env(**{CRASH_VARIABLE: "2"})
    result = run_allennlp(
        ["train", config, "-s", str(crashed), "--include-package", "tests.support.crash_callback"],
        env=env,
        check=False,
    )
    assert result.returncode != 0 and "simulated crash in epoch 2" in result.stderr
    assert not (crashed / "metrics.json").exists()

    result = run_allennlp(
        [
            "train",
            config,
            "-s",
            str(crashed),
            "--recover",
            "--include-package",
            "tests.support.crash_callback",
        ]
    )
    plain_metrics = json.loads((plain / "metrics.json").read_text())
    recovered_metrics = json.loads((crashed / "metrics.json").read_text())
    assert recovered_metrics["epoch"] == plain_metrics["epoch"] == 2
    # Only epochs 2 and 3 ran again: epoch 1's metrics file is the one from before the crash.
    assert sorted(p.name for p in crashed.glob("metrics_epoch_*.json")) == [
        "metrics_epoch_0.json",
        "metrics_epoch_1.json",
        "metrics_epoch_2.json",
    ]
    # Same batches in the same order, no epoch lost or repeated: the same final weights.
    plain_weights, recovered_weights = _final_weights(plain), _final_weights(crashed)
    assert plain_weights.keys() == recovered_weights.keys()
    for name in plain_weights:
        assert torch.allclose(plain_weights[name], recovered_weights[name], atol=1e-5), name
    assert recovered_metrics["validation_average"] == pytest.approx(
        plain_metrics["validation_average"], abs=1e-5
    )


def test_unknown_encoder_fails_with_what_was_looked_up(tmp_path):
    result = run_allennlp(
        ["train", DEMO_CONFIG, "-s", str(tmp_path / "run")],
        env=cli_env(MTDNN_ENCODER="no-such-org/no-such-encoder"),
        check=False,
    )
    assert result.returncode != 0
    assert "'no-such-org/no-such-encoder' is not available offline" in result.stderr
    assert "Looked up" in result.stderr and "local Hugging Face cache" in result.stderr
    assert "huggingface_hub/" not in result.stderr  # no trace from inside the hub client


def test_missing_data_file_names_the_file_and_the_variable(tmp_path):
    result = run_allennlp(
        ["train", DEMO_CONFIG, "-s", str(tmp_path / "run")],
        env=cli_env(MTDNN_DATA=str(tmp_path / "nowhere")),
        check=False,
    )
    assert result.returncode != 0
    assert str(tmp_path / "nowhere" / "glue/RTE/train.tsv") in result.stderr
    assert "data file not found" in result.stderr and "MTDNN_DATA" in result.stderr
    # Nothing half-written is left behind, so the same command works once MTDNN_DATA is fixed.
    assert not (tmp_path / "run").exists()


def test_make_demo_inputs_cover_every_demo_task():
    # The demo's prediction inputs must exercise each task the demo config trains.
    config = (ROOT / DEMO_CONFIG).read_text()
    tasks = {json.loads(line)["task"] for line in DEMO_INPUTS.read_text().splitlines()}
    for task in tasks:
        assert f"tasks.{task}" in config
    assert tasks == {"rte", "sst2", "stsb"}


def test_plugin_subcommands_work_from_any_folder(tmp_path):
    # No .allennlp_plugins in tmp_path and no --include-package: the subcommand must come from
    # the default-plugin fix.
    result = run_allennlp(["export-onnx", "--help"], cwd=tmp_path, include_package=False)
    assert "usage: allennlp export-onnx" in result.stdout
