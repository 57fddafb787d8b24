"""`allennlp export-hf`: each exported task, loaded by transformers' `pipeline()` with no code
of this package, gives what `allennlp predict` gives on the same inputs."""

import json
from pathlib import Path

import pytest
from transformers import AutoConfig, pipeline

from tests.conftest import FIXTURES, run_allennlp

pytestmark = pytest.mark.slow

TOLERANCE = 1e-4
CONTEXT = "Orran is a fishing village on a small island off the coast of Norway."
INPUTS = {
    "rte": [
        {"premise": "The cat sat on the mat all afternoon.", "hypothesis": "A cat was there."},
        {"premise": "It rained.", "hypothesis": "The weather in the city was dry all week."},
        {"premise": "Anna wrote to her aunt.", "hypothesis": "Anna wrote a letter."},
    ],
    "stsb": [
        {"premise": "A man is playing a guitar.", "hypothesis": "A man plays music."},
        {"premise": "Two dogs run.", "hypothesis": "Nobody is outside today at all."},
    ],
    "conll2003": [
        {"words": ["Maria", "Lopez", "visited", "Paris", "."]},
        {"words": ["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb"]},
    ],
    "squad_v2": [
        {"id": "q1", "question": "What is Orran?", "context": CONTEXT},
        {"id": "q2", "question": "Where is the island?", "context": CONTEXT},
        {"id": "q3", "question": "Who lives there?", "context": CONTEXT},
    ],
}


@pytest.fixture(scope="module")
def run(trained_run, tmp_path_factory):
    folder = tmp_path_factory.mktemp("export_hf")
    trained = trained_run(str(FIXTURES / "configs" / "export_hf.jsonnet"))
    inputs = folder / "inputs.jsonl"
    inputs.write_text(
        "".join(
            json.dumps({"task": task, **each}) + "\n" for task in INPUTS for each in INPUTS[task]
        )
    )
    predictions = folder / "predictions.jsonl"
    archive = str(trained / "model.tar.gz")
    run_allennlp(["predict", archive, str(inputs), "--output-file", str(predictions), "--silent"])
    rows = [json.loads(line) for line in predictions.read_text().splitlines()]
    by_task = {task: [row for row in rows if row["task"] == task] for task in INPUTS}
    return folder, archive, by_task


def _export(run, task):
    folder, archive, _ = run
    out = folder / f"hf_{task}"
    result = run_allennlp(["export-hf", archive, "--task", task, str(out)])
    assert f"exported task {task}" in result.stdout
    return out


def test_classification_matches_allennlp_predict_with_labels_and_card(run):
    folder = _export(run, "rte")
    config = AutoConfig.from_pretrained(folder)
    assert config.architectures == ["BertForSequenceClassification"]
    assert config.id2label == {0: "entailment", 1: "not_entailment"}
    classify = pipeline("text-classification", model=str(folder), top_k=None)
    for example, expected in zip(INPUTS["rte"], run[2]["rte"], strict=True):
        scores = classify({"text": example["premise"], "text_pair": example["hypothesis"]})
        probabilities = {each["label"]: each["score"] for each in scores}
        assert max(probabilities, key=probabilities.get) == expected["label"]
        for label, probability in expected["probabilities"].items():
            assert probabilities[label] == pytest.approx(probability, abs=TOLERANCE)
    card = (folder / "README.md").read_text()
    metrics = json.loads((Path(run[1]).parent / "metrics.json").read_text())
    assert "pipeline_tag: text-classification" in card
    assert "glue/RTE/train.tsv" in card and "not_entailment" in card
    assert f"| accuracy | {metrics['best_validation_rte_accuracy']:.4f} |" in card


def test_regression_is_one_raw_score(run):
    folder = _export(run, "stsb")
    config = AutoConfig.from_pretrained(folder)
    assert (config.num_labels, config.problem_type) == (1, "regression")
    score = pipeline("text-classification", model=str(folder), function_to_apply="none")
    for example, expected in zip(INPUTS["stsb"], run[2]["stsb"], strict=True):
        result = score({"text": example["premise"], "text_pair": example["hypothesis"]})
        assert result["score"] == pytest.approx(expected["score"], abs=TOLERANCE)


def test_token_classification_gives_every_word_its_tag(run):
    folder = _export(run, "conll2003")
    tag = pipeline("token-classification", model=str(folder), ignore_labels=[])
    for example, expected in zip(INPUTS["conll2003"], run[2]["conll2003"], strict=True):
        words = example["words"]
        pieces = tag([words], is_split_into_words=True)[0]
        # A word's tag is its first piece's: the piece that starts where the word starts.
        starts = [sum(len(word) + 1 for word in words[:i]) for i in range(len(words))]
        first_piece = {piece["start"]: piece["entity"] for piece in reversed(pieces)}
        assert [first_piece[start] for start in starts] == expected["tags"]


def test_question_answering_gives_the_same_answers(run):
    folder = _export(run, "squad_v2")
    answer = pipeline("question-answering", model=str(folder))
    for example, expected in zip(INPUTS["squad_v2"], run[2]["squad_v2"], strict=True):
        result = answer(
            question=example["question"],
            context=example["context"],
            handle_impossible_answer=True,
            max_answer_len=30,
            align_to_words=False,  # the span head answers with the pieces' characters
        )
        assert result["answer"] == expected["answer"]
