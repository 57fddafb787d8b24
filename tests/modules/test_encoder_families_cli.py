"""Each encoder family (tiny RoBERTa, ELECTRA, DeBERTa, DeBERTa-v2) through the stock CLI:
sentence-pair classification (RTE), tagging (CoNLL-2003, one tag per word) and adversarial
training, with MTDNN_ENCODER set to the family's folder."""

import json

import pytest

from tests.conftest import cli_env, run_allennlp

pytestmark = pytest.mark.slow

FAMILIES = ["roberta", "electra", "deberta", "deberta_v2"]
NER_INPUTS = [
    {"task": "conll2003", "id": "a", "words": ["Maria", "Lopez", "visited", "Paris", "."]},
    {"task": "conll2003", "id": "b", "words": ["Unbelievably", "long", "wordpieces", "here"]},
]


def _train(config: str, folder, output, **env):
    run_allennlp(
        ["train", config, "-s", str(output)],
        env=cli_env(MTDNN_ENCODER=str(folder), MTDNN_SMOKE="1", **env),
    )
    return json.loads((output / "metrics.json").read_text())


@pytest.mark.parametrize("family", FAMILIES)
def test_rte_trains_and_validates(family, tiny_encoders, tmp_path):
    metrics = _train("training_config/glue/rte.jsonnet", tiny_encoders[family], tmp_path / "run")
    assert metrics["training_loss"] > 0
    assert 0.0 <= metrics["validation_rte_accuracy"] <= 1.0
    assert (tmp_path / "run" / "model.tar.gz").stat().st_size > 0


@pytest.mark.parametrize("family", FAMILIES)
def test_conll2003_tags_one_label_per_word(family, tiny_encoders, tmp_path):
    run = tmp_path / "run"
    metrics = _train("training_config/ner/conll2003.jsonnet", tiny_encoders[family], run)
    assert metrics["training_loss"] > 0
    assert 0.0 <= metrics["validation_conll2003_span_f1"] <= 1.0
    inputs, output = tmp_path / "inputs.jsonl", tmp_path / "predictions.jsonl"
    inputs.write_text("".join(json.dumps(each) + "\n" for each in NER_INPUTS))
    run_allennlp(
        ["predict", str(run / "model.tar.gz"), str(inputs), "--predictor", "mtdnn"]
        + ["--output-file", str(output), "--silent"],
        env=cli_env(MTDNN_ENCODER=str(tiny_encoders[family])),
    )
    predictions = [json.loads(line) for line in output.read_text().splitlines()]
    assert [each["id"] for each in predictions] == ["a", "b"]
    labels = {"O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"}
    for given, predicted in zip(NER_INPUTS, predictions, strict=True):
        # Words split into several pieces still get exactly one tag each.
        assert len(predicted["tags"]) == len(given["words"])
        assert set(predicted["tags"]) <= labels


@pytest.mark.parametrize("family", FAMILIES)
def test_adversarial_training_runs_its_perturbed_pass(family, tiny_encoders, tmp_path):
    metrics = _train(
        "training_config/adversarial/rte.jsonnet", tiny_encoders[family], tmp_path / "run"
    )
    for key in ("adv_clean_loss", "adv_loss", "adv_noise_norm"):
        assert metrics[f"training_{key}"] > 0, key
    assert metrics["training_adv_skipped_batches"] == 0
