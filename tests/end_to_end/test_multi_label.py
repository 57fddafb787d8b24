"""Multi-label classification end to end through the stock CLI: allennlp train, evaluate and
predict with --include-package mtdnn_allennlp on training_config/tutorial/topics_multi_label.jsonnet
(fixtures/tutorial/topics), then the ONNX export and its predict_onnx.py, and the Hugging Face
export's refusal."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT, run_allennlp

pytestmark = pytest.mark.slow

CONFIG = "training_config/tutorial/topics_multi_label.jsonnet"
TOPICS = ROOT / "fixtures" / "tutorial" / "topics"
LABELS = ["sports", "politics", "technology", "health"]


@pytest.fixture(scope="module")
def run(trained_run):
    return trained_run(CONFIG)


def allennlp_predictions(run, tmp_path):
    """`allennlp predict` of the trained archive on the fixture inputs, one dict per line."""
    predictions_file = tmp_path / "predictions.jsonl"
    run_allennlp(
        [
            "predict",
            str(run / "model.tar.gz"),
            str(TOPICS / "inputs.jsonl"),
            "--output-file",
            str(predictions_file),
            "--silent",
        ]
    )
    return [json.loads(line) for line in predictions_file.read_text().splitlines()]


def test_training_reports_micro_macro_and_per_label_f1(run):
    metrics = json.loads((run / "metrics.json").read_text())
    for prefix in ("training", "validation"):
        for name in ("micro_f1", "macro_f1", *(f"f1_{label}" for label in LABELS)):
            assert 0.0 <= metrics[f"{prefix}_topics_{name}"] <= 1.0
    # The task's score is the mean of its declared metrics, not of the per-label F1s.
    expected = (metrics["validation_topics_micro_f1"] + metrics["validation_topics_macro_f1"]) / 2
    assert metrics["validation_average"] == pytest.approx(expected)
    # Ten epochs on 40 examples learn something: better than predicting no label at all (0).
    assert metrics["best_validation_topics_micro_f1"] > 0.0


def test_evaluate_and_predict(run, tmp_path):
    output = tmp_path / "dev_metrics.json"
    run_allennlp(
        [
            "evaluate",
            str(run / "model.tar.gz"),
            json.dumps({"topics": str(TOPICS / "dev.jsonl")}),
            "--output-file",
            str(output),
        ]
    )
    evaluated = json.loads(output.read_text())
    assert {"topics_micro_f1", "topics_macro_f1", "topics_f1_health", "loss"} <= set(evaluated)
    predictions = allennlp_predictions(run, tmp_path)
    assert len(predictions) == 2
    for prediction in predictions:
        assert prediction["task"] == "topics"
        assert list(prediction["probabilities"]) == LABELS
        assert prediction["labels"] == [
            label for label in LABELS if prediction["probabilities"][label] >= 0.5
        ]


def test_onnx_export_predicts_what_allennlp_predict_does(run, tmp_path):
    folder = tmp_path / "onnx"
    run_allennlp(["export-onnx", str(run / "model.tar.gz"), str(folder)])
    exported = subprocess.run(
        [
            sys.executable,
            str(folder / "predict_onnx.py"),
            str(folder),
            str(TOPICS / "inputs.jsonl"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    onnx = [json.loads(line) for line in exported.stdout.splitlines()]
    expected = allennlp_predictions(run, tmp_path)
    for got, want in zip(onnx, expected, strict=True):
        assert got["labels"] == want["labels"]
        for label in LABELS:
            assert got["probabilities"][label] == pytest.approx(
                want["probabilities"][label], abs=1e-4
            )


def test_hugging_face_export_refuses_with_the_reason(run, tmp_path):
    result = run_allennlp(
        ["export-hf", str(run / "model.tar.gz"), "--task", "topics", str(tmp_path / "hf")],
        check=False,
    )
    assert result.returncode != 0
    assert "single-label classifiers" in result.stderr
    assert not (tmp_path / "hf").exists()
