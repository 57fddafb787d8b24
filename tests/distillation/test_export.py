"""ONNX export round trip: the exported folder, run by its own predict_onnx.py (onnxruntime,
tokenizers, numpy), gives the PyTorch model's outputs within TOLERANCE."""

import json

import numpy as np
import pytest
import torch
from allennlp.common.checks import ConfigurationError
from allennlp.data import Batch

from mtdnn_allennlp.data.dataset_readers import MultiTaskReader
from mtdnn_allennlp.distillation.export import export_model
from mtdnn_allennlp.models.heads import TaskHead
from mtdnn_allennlp.models.heads.task_head import ClassificationHead
from tests.support.tiny_models import ENCODERS, TINY_BERT, exported_predictor, model, reader, task

# Absolute difference allowed between ONNX Runtime's and PyTorch's logits or scores (float32
# kernels differ in summation order).
TOLERANCE = 1e-4
NAMES = ["rte", "stsb", "conll2003"]
EXAMPLES = {
    "rte": [
        {"premise": "The cat sat on the mat all afternoon.", "hypothesis": "A cat was there."},
        {"premise": "It rained.", "hypothesis": "The weather in the city was dry all week."},
    ],
    "stsb": [
        {"premise": "A man is playing a guitar.", "hypothesis": "A man plays music."},
        {"premise": "Two dogs run.", "hypothesis": "Nobody is outside today at all."},
    ],
    "conll2003": [
        {"words": ["Maria", "Lopez", "visited", "Paris", "."]},
        {"words": ["EU", "rejects", "German", "call"]},
    ],
}


@pytest.mark.parametrize("encoder", sorted(ENCODERS))
def test_export_round_trip_matches_pytorch(encoder, tmp_path):
    torch.manual_seed(0)
    mtdnn = model(NAMES, ENCODERS[encoder]).eval()
    data = reader(NAMES)
    folder = export_model(mtdnn, data, str(tmp_path / "export"))
    assert {p.name for p in folder.iterdir()} >= {"model.onnx", "labels.json", "predict_onnx.py"}
    assert (folder / "tokenizer" / "tokenizer.json").is_file()
    labels = json.loads((folder / "labels.json").read_text())
    assert labels["tasks"]["rte"]["labels"] == ["entailment", "not_entailment"]
    predictor = exported_predictor(folder)
    for name, examples in EXAMPLES.items():
        instances = [data.text_to_instance(task=name, **example) for example in examples]
        batch = Batch(instances)
        batch.index_instances(mtdnn.vocab)
        with torch.no_grad():
            expected = mtdnn(**batch.as_tensor_dict())["logits"].numpy()
        actual, encodings = predictor.raw_outputs(name, examples)
        # The standalone tokenization gives the reader's word pieces...
        for instance, encoding in zip(instances, encodings, strict=True):
            assert encoding.ids == instance["tokens"].ids.tolist()
        # ...and the graph the model's outputs.
        assert actual.shape == expected.shape
        np.testing.assert_allclose(actual, expected, atol=TOLERANCE, rtol=0)
    decoded = predictor.predict([{"task": "rte", **EXAMPLES["rte"][0]}])[0]
    assert decoded["label"] in ("entailment", "not_entailment")
    # Tagging decodes the same constrained (valid BIO) tag sequences as the model.
    assert "transitions" in labels["tasks"]["conll2003"]
    instances = [data.text_to_instance(task="conll2003", **each) for each in EXAMPLES["conll2003"]]
    batch = Batch(instances)
    batch.index_instances(mtdnn.vocab)
    with torch.no_grad():
        readable = mtdnn.make_output_human_readable(mtdnn(**batch.as_tensor_dict()))
    inputs = [{"task": "conll2003", **each} for each in EXAMPLES["conll2003"]]
    assert [each["tags"] for each in predictor.predict(inputs)] == readable["tags"]


@TaskHead.register("test_unexportable")
class UnexportableHead(ClassificationHead):
    pass


def test_an_unsupported_head_is_named(tmp_path):
    mtdnn = model(["rte"], ENCODERS["bilstm"])
    mtdnn.tasks["rte"].head["type"] = "test_unexportable"
    mtdnn.heads["rte"] = UnexportableHead(mtdnn.encoder.hidden_size, mtdnn.tasks["rte"])
    with pytest.raises(ConfigurationError, match="Task 'rte': its head 'test_unexportable'"):
        export_model(mtdnn, reader(["rte"]), str(tmp_path / "export"))


QUESTIONS = [
    {
        "premise": "Where did the cat sleep?",
        "hypotheses": ["The cat slept on the mat.", "Dogs bark at night."],
    },
    {
        "premise": "Who wrote the letter?",
        "hypotheses": ["It rained.", "Anna wrote the letter to her aunt.", "The end."],
    },
]


@pytest.mark.parametrize("encoder", ["transformer", "bilstm"])
def test_ranking_export_scores_every_candidate_like_pytorch(encoder, tmp_path):
    torch.manual_seed(0)
    names = ["qnli_ranking", "rte"]
    mtdnn = model(names, ENCODERS[encoder]).eval()
    data = reader(names)
    predictor = exported_predictor(export_model(mtdnn, data, str(tmp_path / "export")))
    instances = [data.text_to_instance(task="qnli_ranking", **each) for each in QUESTIONS]
    batch = Batch(instances)
    batch.index_instances(mtdnn.vocab)
    with torch.no_grad():
        output = mtdnn(**batch.as_tensor_dict())
    expected = output["logits"].numpy()  # (2 examples, 3 candidates), the first one padded
    actual, groups = predictor.raw_outputs("qnli_ranking", QUESTIONS)
    assert [len(group) for group in groups] == [2, 3]
    assert actual.shape == expected.shape == (2, 3)
    np.testing.assert_allclose(actual, expected, atol=TOLERANCE, rtol=0)
    readable = mtdnn.make_output_human_readable(output)
    inputs = [{"task": "qnli_ranking", **each} for each in QUESTIONS]
    for position, decoded in enumerate(predictor.predict(inputs)):
        assert decoded["label"] == readable["label"][position]
        assert decoded["hypothesis"] == readable["hypothesis"][position]
        np.testing.assert_allclose(decoded["scores"], readable["scores"][position], atol=1e-4)


def test_multiple_choice_export_is_refused_with_the_reason(tmp_path):
    mtdnn = model(["everyday_mc"], ENCODERS["bilstm"])
    with pytest.raises(ConfigurationError, match="Task 'everyday_mc': multiple choice cannot"):
        export_model(mtdnn, reader(["everyday_mc"]), str(tmp_path / "export"))
    assert not (tmp_path / "export").exists()


# A context long enough for several windows of 48 pieces sharing 16.
PASSAGE = (
    "The river Thames flows through London and several other towns of southern England. "
    "Its source lies in the Cotswolds, near the village of Kemble, and it reaches the North "
    "Sea at its estuary after more than three hundred kilometres. Many bridges cross it, "
    "among them Tower Bridge, which opened in 1894 and is raised for tall ships."
)
QA = [
    {"id": "q1", "question": "Where is the source of the Thames?", "context": PASSAGE},
    {"id": "q2", "question": "When did Tower Bridge open?", "context": PASSAGE},
    {"id": "q3", "question": "What flows?", "context": "The river flows."},
]


@pytest.mark.parametrize("encoder", ["transformer", "bilstm"])
def test_span_export_cuts_the_readers_windows_and_answers_like_pytorch(encoder, tmp_path):
    torch.manual_seed(0)
    names = ["squad_v1", "squad_v2"]  # v2.0 decodes with a no-answer option
    windows = {"type": "squad_json", "doc_stride": 16, "max_query_length": 8}
    mtdnn = model(names, ENCODERS[encoder]).eval()
    data = MultiTaskReader(
        [task(name, reader=windows) for name in names], encoder=TINY_BERT, max_length=48
    )
    predictor = exported_predictor(export_model(mtdnn, data, str(tmp_path / "export")))
    for name in names:
        instances = [
            window
            for example in QA
            for window in data.readers[name].windows(
                example["question"], example["context"], id=example["id"]
            )
        ]
        assert len(instances) > len(QA)  # the long context has several windows
        batch = Batch(instances)
        batch.index_instances(mtdnn.vocab)
        with torch.no_grad():
            output = mtdnn(**batch.as_tensor_dict())
        actual, cut = predictor.raw_outputs(name, QA)
        for instance, (_, window) in zip(instances, cut, strict=True):
            assert window.ids == instance["tokens"].ids.tolist()
        expected = output["logits"].numpy()
        assert actual.shape == expected.shape
        np.testing.assert_allclose(actual, expected, atol=TOLERANCE, rtol=0)
        readable = mtdnn.make_output_human_readable(output)
        ids = [instance["metadata"].metadata["id"] for instance in instances]
        torch_answers = dict(zip(ids, readable["answer"], strict=True))
        decoded = predictor.predict([{"task": name, **example} for example in QA])
        assert {row["id"]: row["answer"] for row in decoded} == torch_answers


def test_numpy_constrained_decoding_matches_the_head():
    from mtdnn_allennlp.distillation.predict_onnx import _word_tags
    from tests.models.test_tagging_and_regression_heads import TAGS, tagging_head

    torch.manual_seed(0)
    head = tagging_head()
    transitions = json.loads(json.dumps(head.transitions.as_lists()))  # as labels.json holds it
    for length in (1, 2, 5, 9):
        for _ in range(10):
            logits = torch.randn(1, length, len(TAGS)) * 3
            (expected,) = head.word_tags(logits, [{"word_starts": list(range(length))}])
            best = _word_tags(logits[0].double().numpy(), transitions)
            assert [TAGS[i] for i in best] == expected


def test_an_export_failing_half_way_leaves_nothing(tmp_path, monkeypatch):
    """The graph is written, then the tokenizer fails: no export folder, no temporary one."""
    mtdnn = model(["rte"], ENCODERS["bilstm"]).eval()
    data = reader(["rte"])
    tokenizer = type(next(iter(data.readers.values())).pieces.tokenizer)

    def broken_save(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tokenizer, "save_pretrained", broken_save)
    with pytest.raises(OSError, match="disk full"):
        export_model(mtdnn, data, str(tmp_path / "export"))
    assert list(tmp_path.iterdir()) == []
