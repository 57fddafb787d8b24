"""End to end through the stock `allennlp` CLI: a ranking task (QNLI as ranking) and a task with
the SAN head, each trained, evaluated and used for prediction on the fixtures."""

import json
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, cli_env, run_allennlp

pytestmark = pytest.mark.slow

QNLI_DEV = FIXTURES / "data/glue/QNLI/dev.tsv"
RTE_DEV = FIXTURES / "data/glue/RTE/dev.tsv"


def env(**overrides: str) -> dict:
    # Tiny models: one thread each, or the subprocesses wait on thread pools on a busy machine.
    return cli_env(OMP_NUM_THREADS="1", **overrides)


def epoch_metrics(run: Path, epoch: int) -> dict:
    return json.loads((run / f"metrics_epoch_{epoch}.json").read_text())


def predict(archive: Path, inputs: list, tmp_path: Path) -> list:
    source = tmp_path / "inputs.jsonl"
    source.write_text("".join(json.dumps(each) + "\n" for each in inputs))
    output = tmp_path / "predictions.jsonl"
    command = ["predict", str(archive), str(source), "--output-file", str(output), "--silent"]
    run_allennlp(command, env=env())
    return [json.loads(line) for line in output.read_text().splitlines()]


def evaluate(archive: Path, data: Path, tmp_path: Path) -> dict:
    tmp_path.mkdir(parents=True, exist_ok=True)
    output = tmp_path / "evaluation.json"
    run_allennlp(["evaluate", str(archive), str(data), "--output-file", str(output)], env=env())
    return json.loads(output.read_text())


@pytest.fixture(scope="module")
def ranking_run(trained_run) -> Path:
    return trained_run("training_config/glue/qnli_ranking.jsonnet", MTDNN_EPOCHS="2")


def test_ranking_trains_on_question_groups(ranking_run):
    metrics = json.loads((ranking_run / "metrics.json").read_text())
    assert metrics["training_loss"] > 0
    assert 0.0 <= metrics["training_qnli_ranking_accuracy"] <= 1.0
    # MRR with two candidates per question: 1 when right, 1/2 when wrong.
    accuracy = metrics["training_qnli_ranking_accuracy"]
    assert metrics["training_qnli_ranking_mrr"] == pytest.approx(accuracy + (1 - accuracy) / 2)


def test_ranking_evaluate(ranking_run, tmp_path):
    metrics = evaluate(ranking_run / "model.tar.gz", QNLI_DEV, tmp_path)
    accuracy = metrics["qnli_ranking_accuracy"]
    assert 0.0 <= accuracy <= 1.0 and metrics["loss"] > 0
    assert metrics["qnli_ranking_mrr"] == pytest.approx(accuracy + (1 - accuracy) / 2)


def test_ranking_predict_scores_every_candidate(ranking_run, tmp_path):
    inputs = [
        {
            "id": "q1",
            "premise": "Who wrote the letter?",
            "hypotheses": ["It rained.", "John wrote the letter.", "The sky is blue."],
        },
        {"id": "q2", "premise": "Where is Paris?", "hypotheses": ["In France.", "Blue."]},
    ]
    predictions = predict(ranking_run / "model.tar.gz", inputs, tmp_path)
    assert [p["id"] for p in predictions] == ["q1", "q2"]
    for prediction, given in zip(predictions, inputs, strict=True):
        scores = prediction["scores"]
        assert len(scores) == len(given["hypotheses"])
        assert sum(scores) == pytest.approx(1.0, abs=1e-4)
        assert prediction["label"] == scores.index(max(scores))
        assert prediction["hypothesis"] == given["hypotheses"][prediction["label"]]


def test_ranking_predict_needs_hypotheses(ranking_run, tmp_path):
    source = tmp_path / "bad.jsonl"
    source.write_text('{"premise": "Who?", "hypothesis": "Me."}\n')
    result = run_allennlp(
        [
            "predict",
            str(ranking_run / "model.tar.gz"),
            str(source),
            "--output-file",
            str(tmp_path / "out.jsonl"),
            "--silent",
        ],
        env=env(),
        check=False,
    )
    assert result.returncode != 0
    assert "no hypotheses" in result.stderr and f"{source}:1" in result.stderr


@pytest.fixture(scope="module")
def san_run(trained_run) -> Path:
    # A large learning rate so that three epochs of the 64 fixture rows show learning.
    overrides = {
        "trainer.optimizer.lr": 0.002,
        "trainer.learning_rate_scheduler.warmup_fraction": 0,
    }
    return trained_run("training_config/glue/rte_san.jsonnet", overrides, MTDNN_EPOCHS="3")


def test_san_head_trains_and_its_loss_goes_down(san_run):
    config = json.loads((san_run / "config.json").read_text())
    assert config["model"]["tasks"][0]["head"]["type"] == "san"
    losses = [epoch_metrics(san_run, epoch)["training_loss"] for epoch in range(3)]
    assert losses[2] < losses[0]
    assert 0.0 <= epoch_metrics(san_run, 2)["validation_rte_accuracy"] <= 1.0


def test_san_evaluate_and_predict(san_run, tmp_path):
    metrics = evaluate(san_run / "model.tar.gz", RTE_DEV, tmp_path)
    assert 0.0 <= metrics["rte_accuracy"] <= 1.0
    # Inference averages every step: evaluating twice gives the same numbers.
    again = evaluate(san_run / "model.tar.gz", RTE_DEV, tmp_path / "again")
    assert again["rte_accuracy"] == metrics["rte_accuracy"]
    assert again["loss"] == pytest.approx(metrics["loss"], abs=1e-6)
    predictions = predict(
        san_run / "model.tar.gz",
        [{"premise": "A cat sat on the mat.", "hypothesis": "A cat sat."}],
        tmp_path,
    )
    assert predictions[0]["label"] in {"entailment", "not_entailment"}
    assert sum(predictions[0]["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
