"""Distilling a sequence-labelling task through the stock CLI: a tiny CoNLL-2003 teacher, its
per-word soft targets (`allennlp soft-targets`), and the BiLSTM student of
training_config/distillation/student_ner.jsonnet trained on them."""

import json
import math

import pytest

from tests.conftest import cli_env, run_allennlp

pytestmark = pytest.mark.slow


def test_ner_student_trains_on_a_teachers_per_word_soft_targets(tmp_path):
    env = cli_env(MTDNN_SMOKE="1")
    teacher = tmp_path / "teacher"
    run_allennlp(["train", "training_config/ner/conll2003.jsonnet", "-s", str(teacher)], env=env)
    train = json.loads((teacher / "config.json").read_text())["train_data_path"]
    soft = tmp_path / "ner_soft.jsonl"
    run_allennlp(
        [
            "soft-targets",
            str(teacher / "model.tar.gz"),
            json.dumps(train),
            "--output-file",
            str(soft),
        ],
        env=env,
    )
    records = [json.loads(line) for line in soft.read_text().splitlines()]
    assert records and all(record["task"] == "conll2003" for record in records)
    for record in records:  # one 9-tag distribution per word
        for word in record["probabilities"]:
            assert len(word) == 9 and sum(word) == pytest.approx(1.0, abs=1e-5)

    student = tmp_path / "student"
    run_allennlp(
        ["train", "training_config/distillation/student_ner.jsonnet", "-s", str(student)],
        env=cli_env(MTDNN_SMOKE="1", MTDNN_SOFT_TARGETS=str(soft)),
    )
    config = json.loads((student / "config.json").read_text())
    assert config["dataset_reader"]["soft_targets"] == str(soft)
    assert config["model"]["encoder"]["type"] == "bilstm"
    metrics = json.loads((student / "metrics.json").read_text())
    # The per-word KL to the teacher's tags was part of the training loss...
    kd_loss = metrics["training_conll2003_kd_loss"]
    assert math.isfinite(kd_loss) and kd_loss > 0
    # ...and validation (gold tags only) has no soft loss, but the span F1.
    assert "validation_conll2003_kd_loss" not in metrics
    assert "validation_conll2003_span_f1" in metrics


def test_ner_student_config_runs_on_its_fixture_soft_targets_with_no_environment(tmp_path):
    # Unset MTDNN_SOFT_TARGETS: the NER fixture file, not the GLUE-4 one (which would fail).
    student = tmp_path / "student"
    run_allennlp(
        ["train", "training_config/distillation/student_ner.jsonnet", "-s", str(student)],
        env=cli_env(MTDNN_SMOKE="1"),
    )
    config = json.loads((student / "config.json").read_text())
    assert config["dataset_reader"]["soft_targets"].endswith(
        "fixtures/distillation/conll2003_soft_targets.jsonl"
    )
    assert json.loads((student / "metrics.json").read_text())["training_conll2003_kd_loss"] > 0
