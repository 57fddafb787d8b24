"""Distilling ranking and extractive QA through the stock CLI: a tiny QNLI-ranking + SQuAD
teacher, its soft targets (`allennlp soft-targets`: a softmax across candidates, per-word start
and end probabilities), and the student of training_config/distillation/student_qa.jsonnet."""

import json
import math
import subprocess
import sys

import pytest

from tests.conftest import cli_env, run_allennlp

pytestmark = pytest.mark.slow


def test_qa_student_trains_on_ranking_and_span_soft_targets(tmp_path):
    env = cli_env(MTDNN_SMOKE="1")
    teacher = tmp_path / "teacher"
    config = "training_config/distillation/teacher_qa.jsonnet"
    run_allennlp(["train", config, "-s", str(teacher)], env=env)
    train = json.loads((teacher / "config.json").read_text())["train_data_path"]
    soft = tmp_path / "qa_soft.jsonl"
    archive = str(teacher / "model.tar.gz")
    # The same teacher twice is an ensemble whose average must equal the teacher.
    run_allennlp(
        ["soft-targets", f"{archive},{archive}", json.dumps(train), "--output-file", str(soft)],
        env=env,
    )
    records = [json.loads(line) for line in soft.read_text().splitlines()]
    ranking = [record for record in records if record["task"] == "qnli_ranking"]
    spans = [record for record in records if record["task"] == "squad_v1"]
    assert ranking and spans and len(ranking) + len(spans) == len(records)
    for record in ranking:  # one probability per candidate, summing to 1
        assert len(record["probabilities"]) >= 2
        assert sum(record["probabilities"]) == pytest.approx(1.0, abs=1e-5)
    for record in spans:
        assert len(record["start"]) == len(record["end"]) > 0
        # One window per fixture context: the words and [CLS] hold all the probability.
        for column, field in enumerate(("start", "end")):
            held = sum(value for value in record[field] if value is not None)
            assert held + record["no_answer"][column] == pytest.approx(1.0, abs=1e-4)

    student = tmp_path / "student"
    run_allennlp(
        ["train", "training_config/distillation/student_qa.jsonnet", "-s", str(student)],
        env=cli_env(MTDNN_SMOKE="1", MTDNN_SOFT_TARGETS=str(soft)),
    )
    assert json.loads((student / "config.json").read_text())["dataset_reader"][
        "soft_targets"
    ] == str(soft)
    metrics = json.loads((student / "metrics.json").read_text())
    for task in ("qnli_ranking", "squad_v1"):  # both soft losses reached the training loss
        kd_loss = metrics[f"training_{task}_kd_loss"]
        assert math.isfinite(kd_loss) and kd_loss > 0
    assert "validation_squad_v1_squad_f1" in metrics
    # The student exports, and its standalone predictor answers like `allennlp predict`.
    export = tmp_path / "student_onnx"
    run_allennlp(["export-onnx", str(student / "model.tar.gz"), str(export)], env=env)
    inputs = tmp_path / "questions.jsonl"
    context = "Tower Bridge opened in 1894. It is raised for tall ships on the river Thames."
    rows = [
        {"task": "squad_v1", "id": "s1", "question": "When did it open?", "context": context},
        {"task": "squad_v1", "id": "s2", "question": "What is it raised for?", "context": context},
        {"task": "qnli_ranking", "id": "r1", "premise": "Who?", "hypotheses": ["Me.", "You."]},
    ]
    inputs.write_text("".join(json.dumps(row) + "\n" for row in rows))
    ours, theirs = _onnx_and_allennlp_predictions(student, export, inputs, env)
    assert [row["id"] for row in ours] == [row["id"] for row in theirs] == ["s1", "s2", "r1"]
    for one, other in zip(ours[:2], theirs[:2], strict=True):
        assert one["answer"] == other["answer"]
    assert ours[2]["scores"] == pytest.approx(theirs[2]["scores"], abs=1e-4)


def _onnx_and_allennlp_predictions(trained, export, inputs, env):
    """The exported folder's `python predict_onnx.py` output and `allennlp predict`'s, parsed."""
    onnx = subprocess.run(
        [sys.executable, "-I", str(export / "predict_onnx.py"), str(export), str(inputs)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    predicted = export.parent / f"{export.name}_predicted.jsonl"
    run_allennlp(
        ["predict", str(trained / "model.tar.gz"), str(inputs), "--output-file", str(predicted)]
        + ["--silent"],
        env=env,
    )
    ours = [json.loads(line) for line in onnx.stdout.splitlines()]
    theirs = [json.loads(line) for line in predicted.read_text().splitlines()]
    return ours, theirs


def test_a_ranking_model_exports_and_predicts_like_allennlp_predict(tmp_path):
    env = cli_env(MTDNN_SMOKE="1")
    trained = tmp_path / "ranking"
    run_allennlp(
        ["train", "training_config/glue/qnli_ranking.jsonnet", "-s", str(trained)], env=env
    )
    export = tmp_path / "ranking_onnx"
    run_allennlp(["export-onnx", str(trained / "model.tar.gz"), str(export)], env=env)
    questions = [
        {"id": "a", "premise": "Who wrote it?", "hypotheses": ["Anna wrote it.", "It rained."]},
        {"id": "b", "premise": "Where?", "hypotheses": ["Here.", "In Paris, in May.", "No."]},
    ]
    inputs = tmp_path / "questions.jsonl"
    inputs.write_text("".join(json.dumps(each) + "\n" for each in questions))
    ours, theirs = _onnx_and_allennlp_predictions(trained, export, inputs, env)
    assert [row["id"] for row in ours] == [row["id"] for row in theirs] == ["a", "b"]
    for one, other in zip(ours, theirs, strict=True):
        assert one["label"] == other["label"] and one["hypothesis"] == other["hypothesis"]
        assert one["scores"] == pytest.approx(other["scores"], abs=1e-4)
        assert len(one["scores"]) == len(questions[ours.index(one)]["hypotheses"])


def test_soft_targets_of_a_masked_lm_teacher_are_refused_with_the_reason(tmp_path):
    teacher = tmp_path / "mlm"
    env = cli_env(MTDNN_SMOKE="1")
    run_allennlp(["train", "training_config/pretraining/mlm.jsonnet", "-s", str(teacher)], env=env)
    train = json.loads((teacher / "config.json").read_text())["train_data_path"]
    out = tmp_path / "mlm_soft.jsonl"
    result = run_allennlp(
        [
            "soft-targets",
            str(teacher / "model.tar.gz"),
            json.dumps(train),
            "--output-file",
            str(out),
        ],
        env=env,
        check=False,
    )
    assert result.returncode != 0
    assert "of type 'masked_lm', which has no soft targets" in result.stderr
    assert not out.exists()
