"""End to end through the stock `allennlp` command: masked-LM pre-training from scratch, export
of the encoder and fine-tuning from it; masked LM as an auxiliary task; SQuAD train, evaluate,
predict."""

import json

import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import FIXTURES, TINY_BERT, cli_env, run_allennlp

pytestmark = pytest.mark.slow

SQUAD = FIXTURES / "data" / "squad"


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """Three epochs of masked LM on the raw-text fixture, from a fresh encoder."""
    run = tmp_path_factory.mktemp("mlm") / "run"
    run_allennlp(
        ["train", "training_config/pretraining/mlm.jsonnet", "-s", str(run)],
        env=cli_env(MTDNN_EPOCHS="3"),
    )
    return run


def test_held_out_masked_lm_loss_goes_down_over_pretraining(pretrained):
    losses = [
        json.loads((pretrained / f"metrics_epoch_{epoch}.json").read_text())["validation_mlm_loss"]
        for epoch in range(3)
    ]
    assert losses[2] < losses[0]


def test_exported_encoder_holds_the_pretrained_weights_and_fine_tunes(pretrained, tmp_path):
    folder = tmp_path / "encoder"
    run_allennlp(["export-encoder", str(pretrained / "model.tar.gz"), str(folder)])
    assert {"config.json", "model.safetensors", "vocab.txt"} <= {p.name for p in folder.iterdir()}
    config = json.loads((folder / "config.json").read_text())
    assert config["hidden_size"] == 128 and config["num_hidden_layers"] == 2
    exported = load_file(str(folder / "model.safetensors"))
    trained = torch.load(pretrained / "best.th", map_location="cpu")
    key = "embeddings.word_embeddings.weight"
    assert torch.equal(exported[key], trained[f"encoder.transformer.{key}"])

    run = tmp_path / "rte"
    run_allennlp(
        ["train", "training_config/glue/rte.jsonnet", "-s", str(run)],
        env=cli_env(MTDNN_ENCODER=str(folder), MTDNN_SMOKE="1"),
    )
    archived = json.loads((run / "config.json").read_text())
    assert archived["model"]["encoder"]["model_name"] == str(folder)
    assert "validation_rte_accuracy" in json.loads((run / "metrics.json").read_text())


def test_masked_lm_as_an_auxiliary_task(tmp_path):
    run = tmp_path / "aux"
    run_allennlp(
        ["train", "training_config/pretraining/rte_aux_mlm.jsonnet", "-s", str(run)],
        env=cli_env(MTDNN_EPOCHS="1"),
    )
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["training_aux_mlm_loss"] > 0 and metrics["training_rte_loss"] > 0
    assert "validation_rte_accuracy" in metrics
    assert not any(key.startswith("validation_aux_mlm") for key in metrics)  # RTE only


@pytest.mark.parametrize("version, config", [("v1.1", "squad_v1"), ("v2.0", "squad_v2")])
def test_squad_train_evaluate_predict(tmp_path, version, config):
    run = tmp_path / "run"
    run_allennlp(
        ["train", f"training_config/squad/{config}.jsonnet", "-s", str(run)],
        env=cli_env(MTDNN_EPOCHS="1"),
    )
    metrics = json.loads((run / "metrics.json").read_text())
    for key in (f"validation_{config}_squad_em", f"validation_{config}_squad_f1"):
        assert 0.0 <= metrics[key] <= 1.0

    output = tmp_path / "eval.json"
    dev = SQUAD / f"dev-{version}.json"
    run_allennlp(["evaluate", str(run / "model.tar.gz"), str(dev), "--output-file", str(output)])
    evaluated = json.loads(output.read_text())
    assert evaluated[f"{config}_squad_f1"] >= evaluated[f"{config}_squad_em"]

    context = "Orran is a fishing village on a small island off the coast."
    inputs = tmp_path / "inputs.jsonl"
    questions = ["What is Orran?", "Where is the island?"]
    inputs.write_text(
        "".join(
            json.dumps({"id": f"q{i}", "question": q, "context": context}) + "\n"
            for i, q in enumerate(questions)
        )
    )
    predictions = tmp_path / "predictions.jsonl"
    run_allennlp(
        ["predict", str(run / "model.tar.gz"), str(inputs), "--output-file", str(predictions)]
        + ["--silent"]
    )
    rows = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert [row["id"] for row in rows] == ["q0", "q1"]
    for row in rows:
        assert isinstance(row["answer"], str)
        assert row["answer"] in context  # a span of the context (or "" for no answer)
        if version == "v1.1":
            assert row["answer"]  # v1.1 always answers


def test_squad_bad_answers_are_reported_by_the_cli(tmp_path):
    data = json.loads((SQUAD / "train-v1.1.json").read_text())
    qa = data["data"][0]["paragraphs"][0]["qas"][0]
    qa["answers"][0]["answer_start"] += 3
    bad = tmp_path / "squad" / "train-v1.1.json"
    bad.parent.mkdir()
    bad.write_text(json.dumps(data))
    (tmp_path / "squad" / "dev-v1.1.json").write_text((SQUAD / "dev-v1.1.json").read_text())
    result = run_allennlp(
        ["train", "training_config/squad/squad_v1.jsonnet", "-s", str(tmp_path / "run")],
        env=cli_env(MTDNN_DATA=str(tmp_path), MTDNN_EPOCHS="1", MTDNN_ENCODER=str(TINY_BERT)),
    )
    log = result.stdout + result.stderr  # allennlp may log warnings to either
    answers = sum(
        len(q["answers"]) for a in data["data"] for p in a["paragraphs"] for q in p["qas"]
    )
    assert f"1 of {answers} answers" in log
    assert "do not match the context at their answer_start" in log
    assert f"(first question ids: {qa['id']})" in log
