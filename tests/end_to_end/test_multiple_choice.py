"""End to end through the stock `allennlp` CLI: multiple choice and cloze trained together
(training_config/multiple_choice/mc_and_cloze.jsonnet), evaluated, used for prediction, and a
bad data file refused with its file, line and field."""

import json
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, cli_env, run_allennlp

pytestmark = pytest.mark.slow

DATA = FIXTURES / "data" / "multiple_choice"
CONFIG = "training_config/multiple_choice/mc_and_cloze.jsonnet"


def env(**overrides: str) -> dict:
    return cli_env(OMP_NUM_THREADS="1", **overrides)


def records(path: Path) -> list:
    return [json.loads(line) for line in path.read_text().splitlines()]


def right_index(record: dict) -> int:
    label = record["label"]
    return label if isinstance(label, int) else record["choices"].index(label)


@pytest.fixture(scope="module")
def run(trained_run) -> Path:
    # A large learning rate so that three epochs of the fixture rows show learning.
    overrides = {
        "trainer.optimizer.lr": 0.002,
        "trainer.learning_rate_scheduler.warmup_fraction": 0,
    }
    return trained_run(CONFIG, overrides, MTDNN_EPOCHS="3")


def test_train_reports_both_tasks_and_the_loss_goes_down(run):
    epochs = [json.loads((run / f"metrics_epoch_{i}.json").read_text()) for i in range(3)]
    assert epochs[2]["training_loss"] < epochs[0]["training_loss"]
    final = epochs[2]
    for key in (
        "validation_everyday_mc_accuracy",
        "validation_everyday_mc_mrr",
        "validation_everyday_cloze_accuracy",
    ):
        assert 0.0 <= final[key] <= 1.0
    # Accuracy is the share of rank-1 answers, so MRR can never be below it.
    assert final["validation_everyday_mc_mrr"] >= final["validation_everyday_mc_accuracy"]


def predict(run: Path, inputs: list, tmp_path: Path) -> list:
    source = tmp_path / "inputs.jsonl"
    source.write_text("".join(json.dumps(each) + "\n" for each in inputs))
    output = tmp_path / "predictions.jsonl"
    command = ["predict", str(run / "model.tar.gz"), str(source), "--output-file", str(output)]
    run_allennlp(command + ["--silent"], env=env())
    return [json.loads(line) for line in output.read_text().splitlines()]


def test_evaluate_agrees_with_the_predictions(run, tmp_path):
    output = tmp_path / "evaluation.json"
    paths = json.dumps({"everyday_mc": str(DATA / "dev.jsonl")})
    run_allennlp(
        ["evaluate", str(run / "model.tar.gz"), paths, "--output-file", str(output)], env=env()
    )
    metrics = json.loads(output.read_text())
    dev = records(DATA / "dev.jsonl")
    # The same dev rows through `predict` (labels dropped): evaluate's accuracy must be the
    # share of predicted answers that are the right choice.
    inputs = [
        {key: value for key, value in each.items() if key != "label"} | {"task": "everyday_mc"}
        for each in dev
    ]
    predictions = predict(run, inputs, tmp_path)
    right = [p["label"] == right_index(r) for p, r in zip(predictions, dev, strict=True)]
    assert metrics["everyday_mc_accuracy"] == pytest.approx(sum(right) / len(dev))
    assert metrics["loss"] > 0


def test_predict_returns_the_answer_text_and_each_choice_probability(run, tmp_path):
    inputs = [
        {
            "task": "everyday_mc",
            "id": "swag",
            "context": "The road was icy.",
            "question": "So the driver",
            "choices": ["slowed down.", "painted the car.", "sang to a tree."],
        },
        {
            "task": "everyday_mc",
            "id": "arc",
            "question": "What melts ice?",
            "choices": ["heat", "ink"],
        },
        {
            "task": "everyday_cloze",
            "id": "cloze",
            "question": "I ate a _.",
            "choices": ["pear", "car"],
        },
    ]
    predictions = predict(run, inputs, tmp_path)
    assert [p["id"] for p in predictions] == ["swag", "arc", "cloze"]
    for prediction, given in zip(predictions, inputs, strict=True):
        probabilities = prediction["probabilities"]
        assert len(probabilities) == len(given["choices"])
        assert sum(probabilities) == pytest.approx(1.0, abs=1e-4)
        assert prediction["label"] == probabilities.index(max(probabilities))
        assert prediction["answer"] == given["choices"][prediction["label"]]


def test_bad_file_is_refused_with_file_line_field_and_fix(tmp_path):
    bad = tmp_path / "train.jsonl"
    good = (DATA / "train.jsonl").read_text().splitlines()[:2]
    bad.write_text("\n".join(good + ['{"question": "Which?", "choices": [], "label": 0}']) + "\n")
    overrides = {"train_data_path": {"everyday_mc": str(bad)}}
    result = run_allennlp(
        [
            "train",
            "training_config/multiple_choice/everyday_mc.jsonnet",
            "-s",
            str(tmp_path / "run"),
            "-o",
            json.dumps(overrides),
        ],
        env=env(),
        check=False,
    )
    assert result.returncode != 0
    assert f"{bad}:3" in result.stderr
    assert "field 'choices'" in result.stderr and "How to fix" in result.stderr
