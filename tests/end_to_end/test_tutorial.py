"""docs/tutorial_new_task.md, followed literally: its files, its config and its commands."""

import json
import shlex
import subprocess
from typing import List

import pytest

from tests.conftest import ALLENNLP, ROOT, cli_env

TUTORIAL = ROOT / "docs" / "tutorial_new_task.md"
CONFIG = ROOT / "training_config" / "tutorial" / "support_intent.jsonnet"
DATA = ROOT / "fixtures" / "tutorial" / "intent"
LABELS = {"billing", "technical", "account"}


def blocks(language: str) -> List[str]:
    """The page's fenced blocks tagged `language` ("" for untagged ones), in order."""
    found, current, tag = [], None, ""
    for line in TUTORIAL.read_text().splitlines():
        if line.startswith("```") and current is None:
            current, tag = [], line[3:].strip()
        elif line.startswith("```"):
            if tag == language:
                found.append("\n".join(current) + "\n")
            current = None
        elif current is not None:
            current.append(line)
    return found


def commands() -> List[str]:
    return [line for block in blocks("bash") for line in block.splitlines() if line.strip()]


def test_the_tutorial_shows_the_real_config_and_data():
    (shown,) = blocks("jsonnet")[:1]
    assert shown.strip() in CONFIG.read_text()
    sample = blocks("")[0].strip().splitlines()  # the TSV excerpt
    assert sample == DATA.joinpath("train.tsv").read_text().splitlines()[: len(sample)]
    first_input = blocks("")[1].strip()
    assert first_input == DATA.joinpath("inputs.jsonl").read_text().splitlines()[0]


def test_the_data_is_a_three_class_task_with_every_label_in_each_split():
    for split in ("train", "dev"):
        rows = [line.split("\t") for line in (DATA / f"{split}.tsv").read_text().splitlines()]
        assert rows[0] == ["id", "text", "label"]
        assert {row[2] for row in rows[1:]} == LABELS


@pytest.mark.slow
def test_the_commands_run_as_written(tmp_path):
    runs = tmp_path / "runs"
    listed = commands()
    assert [shlex.split(c)[:2] for c in listed] == [
        ["allennlp", "train"],
        ["allennlp", "evaluate"],
        ["allennlp", "predict"],
        ["allennlp", "predict"],
        ["allennlp", "train"],
        # Section 8, multi-label classification.
        ["allennlp", "train"],
        ["allennlp", "evaluate"],
        ["allennlp", "predict"],
    ]
    for command in listed:
        # Only the output folder moves to a temporary directory; the rest is the page's text.
        words = shlex.split(command.replace("runs/", f"{runs}/"))
        result = subprocess.run(
            [str(ALLENNLP), *words[1:]],
            cwd=ROOT,
            env=cli_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, f"{command}\n{result.stderr[-3000:]}"

    run = runs / "intent"
    metrics = json.loads((run / "metrics.json").read_text())
    assert 0.0 <= metrics["best_validation_intent_accuracy"] <= 1.0
    assert "best_validation_intent_macro_f1" in metrics
    evaluated = json.loads((run / "dev_metrics.json").read_text())
    assert {"intent_accuracy", "intent_macro_f1", "loss"} <= set(evaluated)

    predictions = [json.loads(x) for x in (run / "predictions.jsonl").read_text().splitlines()]
    assert [p["id"] for p in predictions] == ["q1", "q2", "q3"]
    for prediction in predictions:
        assert prediction["task"] == "intent" and prediction["label"] in LABELS
        assert set(prediction["probabilities"]) == LABELS
    from_tsv = [json.loads(x) for x in (run / "test_predictions.jsonl").read_text().splitlines()]
    assert [p["id"] for p in from_tsv] == [f"test-{i}" for i in range(1, 7)]
    assert all(p["label"] in LABELS for p in from_tsv)

    trec = json.loads((runs / "trec" / "metrics.json").read_text())
    assert 0.0 <= trec["best_validation_trec_accuracy"] <= 1.0

    topics = json.loads((runs / "topics" / "metrics.json").read_text())
    assert 0.0 <= topics["best_validation_topics_micro_f1"] <= 1.0
    assert "best_validation_topics_f1_health" in topics


def test_the_trec_section_shows_the_library_declaration():
    shown = blocks("jsonnet")[1]
    library = (ROOT / "training_config" / "tasks.libsonnet").read_text()
    assert shown.strip() in library
    sample = blocks("text")[0].strip().splitlines()
    trec = (ROOT / "fixtures" / "data" / "trec" / "train_5500.label").read_text("latin-1")
    assert sample == trec.splitlines()[: len(sample)]


def test_the_multi_label_section_shows_the_real_config_and_data():
    config = (ROOT / "training_config" / "tutorial" / "topics_multi_label.jsonnet").read_text()
    assert blocks("jsonnet")[-1].strip() in config
    train = (ROOT / "fixtures" / "tutorial" / "topics" / "train.jsonl").read_text().splitlines()
    shown = blocks("")[-1].strip().splitlines()
    assert shown and all(line in train for line in shown)
