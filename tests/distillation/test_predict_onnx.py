"""predict_onnx.py tokenises as the reader does: pre-split words through the reader's own word
tokenizer (a prefix space before each word for byte-level BPE, which the export saves), and
each task cut at its own max_length, as export writes it."""

import json
import subprocess
import sys

import pytest
import torch
from allennlp.data import Batch

from mtdnn_allennlp.data.dataset_readers import MultiTaskReader
from mtdnn_allennlp.distillation.export import export_model
from tests.conftest import cli_env, run_allennlp
from tests.support.tiny_models import exported_predictor, model, task

WORDS = [
    {"words": ["Maria", "Lopez", "visited", "Paris", "."]},
    {"words": ["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb"]},
]
LONG_PAIR = {
    "premise": "The committee met on Tuesday and argued for hours about the budget of the city.",
    "hypothesis": "Nobody met.",
}
SHORT_MAX_LENGTH = 12


@pytest.fixture(scope="module")
def roberta(tmp_path_factory):
    """A tiny RoBERTa (byte-level BPE, saved without add_prefix_space, as roberta-base)."""
    from scripts.make_tiny_encoders import build

    return str(build(["roberta"], tmp_path_factory.mktemp("tiny_roberta"))["roberta"])


@pytest.fixture(scope="module")
def exported(roberta, tmp_path_factory):
    torch.manual_seed(0)
    names = ["conll2003", "rte"]
    mtdnn = model(names, {"type": "transformer", "model_name": roberta}).eval()
    data = MultiTaskReader(
        [task(name) for name in names],
        encoder=roberta,
        max_length=64,
        max_length_per_task={"rte": SHORT_MAX_LENGTH},
    )
    folder = export_model(mtdnn, data, str(tmp_path_factory.mktemp("export") / "onnx"))
    return mtdnn, data, folder


def _piece_ids(instance):
    return instance["tokens"].ids.tolist()


def test_words_are_tokenised_with_the_readers_prefix_space(exported):
    mtdnn, data, folder = exported
    assert (folder / "tokenizer" / "word_tokenizer.json").is_file()
    predictor = exported_predictor(folder)
    instances = [data.text_to_instance(task="conll2003", **each) for each in WORDS]
    _, encodings = predictor.raw_outputs("conll2003", WORDS)
    for instance, encoding in zip(instances, encodings, strict=True):
        assert encoding.ids == _piece_ids(instance)
    # Without the prefix space a word inside a sentence is another piece sequence: the check
    # above would catch the old tokenisation.
    texts = predictor.tokenizer_for("conll2003", "texts")
    plain = texts.encode(WORDS[0]["words"], is_pretokenized=True)
    assert plain.ids != _piece_ids(instances[0])
    # And the tags decode as the model's.
    batch = Batch(instances)
    batch.index_instances(mtdnn.vocab)
    with torch.no_grad():
        readable = mtdnn.make_output_human_readable(mtdnn(**batch.as_tensor_dict()))
    inputs = [{"task": "conll2003", **each} for each in WORDS]
    assert [each["tags"] for each in predictor.predict(inputs)] == readable["tags"]


def test_each_task_is_cut_at_its_own_max_length(exported):
    _, data, folder = exported
    labels = json.loads((folder / "labels.json").read_text())
    assert labels["tasks"]["rte"]["max_length"] == SHORT_MAX_LENGTH
    assert labels["tasks"]["conll2003"]["max_length"] == 64
    predictor = exported_predictor(folder)
    instance = data.text_to_instance(task="rte", **LONG_PAIR)
    assert instance["metadata"].metadata["truncated"]
    _, (encoding,) = predictor.raw_outputs("rte", [LONG_PAIR])
    assert len(encoding.ids) == SHORT_MAX_LENGTH
    assert encoding.ids == _piece_ids(instance)
    # The tagging task keeps its longer limit: a 40-word sentence is not cut at 12 pieces.
    words = {"words": ["word"] * 40}
    _, (tagged,) = predictor.raw_outputs("conll2003", [words])
    assert len(tagged.ids) > SHORT_MAX_LENGTH
    assert tagged.ids == _piece_ids(data.text_to_instance(task="conll2003", **words))


@pytest.mark.slow
def test_exported_tagger_labels_like_allennlp_predict(roberta, tmp_path):
    """train -> export-onnx -> predict_onnx.py gives the tags of `allennlp predict` on the
    archive, for a byte-level BPE encoder."""
    run, export = tmp_path / "run", tmp_path / "export"
    env = cli_env(MTDNN_ENCODER=roberta, MTDNN_SMOKE="1")
    run_allennlp(["train", "training_config/ner/conll2003.jsonnet", "-s", str(run)], env=env)
    run_allennlp(["export-onnx", str(run / "model.tar.gz"), str(export)], env=env)
    inputs = tmp_path / "inputs.jsonl"
    rows = [{"task": "conll2003", "id": str(i), **each} for i, each in enumerate(WORDS)]
    inputs.write_text("".join(json.dumps(row) + "\n" for row in rows))
    predicted = tmp_path / "predicted.jsonl"
    run_allennlp(
        ["predict", str(run / "model.tar.gz"), str(inputs), "--predictor", "mtdnn"]
        + ["--output-file", str(predicted), "--silent"],
        env=env,
    )
    expected = [json.loads(line) for line in predicted.read_text().splitlines()]
    result = subprocess.run(
        [sys.executable, str(export / "predict_onnx.py"), str(export), str(inputs)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    onnx = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["id"] for row in onnx] == [row["id"] for row in expected] == ["0", "1"]
    assert [row["tags"] for row in onnx] == [row["tags"] for row in expected]
    assert [len(row["tags"]) for row in onnx] == [len(each["words"]) for each in WORDS]
