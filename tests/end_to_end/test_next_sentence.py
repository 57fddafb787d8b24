"""End to end through the stock `allennlp` CLI: masked LM and next-sentence prediction trained
together (training_config/pretraining/mlm_nsp.jsonnet), evaluated and used for prediction."""

import json
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, cli_env, run_allennlp

pytestmark = pytest.mark.slow

DEV = FIXTURES / "data" / "text" / "documents_dev.txt"


def env(**overrides: str) -> dict:
    return cli_env(OMP_NUM_THREADS="1", **overrides)


@pytest.fixture(scope="module")
def run(trained_run) -> Path:
    config = "training_config/pretraining/mlm_nsp.jsonnet"
    return trained_run(config, MTDNN_EPOCHS="3")


def test_both_objectives_train_and_the_loss_goes_down(run):
    epochs = [json.loads((run / f"metrics_epoch_{i}.json").read_text()) for i in range(3)]
    assert epochs[2]["training_loss"] < epochs[0]["training_loss"]
    for key in ("training_nsp_loss", "training_mlm_loss", "validation_nsp_accuracy"):
        assert key in epochs[2]
    assert 0.0 <= epochs[2]["validation_nsp_accuracy"] <= 1.0


def test_evaluate_and_predict_next_sentence(run, tmp_path):
    output = tmp_path / "evaluation.json"
    paths = json.dumps({"nsp": str(DEV)})
    run_allennlp(
        ["evaluate", str(run / "model.tar.gz"), paths, "--output-file", str(output)], env=env()
    )
    metrics = json.loads(output.read_text())
    assert 0.0 <= metrics["nsp_accuracy"] <= 1.0 and metrics["nsp_loss"] > 0

    source = tmp_path / "pairs.jsonl"
    pair = {"task": "nsp", "premise": "It rained all night.", "hypothesis": "The roads were wet."}
    source.write_text(json.dumps(pair) + "\n")
    predictions = tmp_path / "predictions.jsonl"
    command = ["predict", str(run / "model.tar.gz"), str(source), "--output-file"]
    run_allennlp(command + [str(predictions), "--silent"], env=env())
    (prediction,) = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert set(prediction["probabilities"]) == {"not_next", "is_next"}
    assert sum(prediction["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    best = max(prediction["probabilities"], key=prediction["probabilities"].get)
    assert prediction["label"] == best
