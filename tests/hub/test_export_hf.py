"""export-hf's mappings: exact for the heads transformers has a class for, refused with the
reason otherwise."""

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.data import Vocabulary
from allennlp.models import Model
from transformers import AutoModelForSequenceClassification

from mtdnn_allennlp.hub.export import build_hf_model, export_task, probe_inputs
from tests.support.tiny_models import ENCODERS, model, reader, task_spec


def _model_with(encoder, name, **overrides):
    """A model of one task whose definition is overridden (its head, say)."""
    params = {"type": "mtdnn", "encoder": dict(encoder), "tasks": [task_spec(name, **overrides)]}
    return Model.from_params(vocab=Vocabulary(), params=Params(params))


def test_ranking_maps_to_one_logit_per_pair(tmp_path):
    torch.manual_seed(0)
    mtdnn = model(["qnli_ranking"], ENCODERS["transformer"]).eval()
    folder = export_task(mtdnn, reader(["qnli_ranking"]), "qnli_ranking", str(tmp_path / "out"))
    exported = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    inputs = probe_inputs(exported.config.vocab_size, 2)
    with torch.no_grad():
        encoded = mtdnn.encoder(*inputs.values())
        expected = mtdnn.heads["qnli_ranking"].pair_scores(encoded)
        actual = exported(**inputs).logits.squeeze(-1)
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=0)
    assert "softmax across one premise's candidate" in (folder / "README.md").read_text()


def test_a_head_transformers_cannot_express_exactly_is_refused(tmp_path):
    head = {"type": "classification", "pooler_activation": "relu"}
    mtdnn = _model_with(ENCODERS["transformer"], "rte", head=head)
    with pytest.raises(ConfigurationError, match="does not reproduce the head .* 'relu'"):
        build_hf_model(mtdnn, "rte")


@pytest.mark.parametrize(
    "name, overrides, reason",
    [
        ("rte", {"head": {"type": "san"}}, "the SAN head runs a multi-step answer module"),
        ("everyday_mc", {}, "multiple choice builds its"),
    ],
)
def test_heads_without_a_transformers_class_are_refused_with_the_reason(name, overrides, reason):
    mtdnn = _model_with(ENCODERS["transformer"], name, **overrides)
    with pytest.raises(ConfigurationError, match=f"Task '{name}' .*cannot be exported.*{reason}"):
        build_hf_model(mtdnn, name)


def test_a_non_transformers_encoder_is_refused():
    mtdnn = model(["rte"], ENCODERS["bilstm"])
    with pytest.raises(ConfigurationError, match="is not a transformers model"):
        build_hf_model(mtdnn, "rte")


def test_an_unknown_task_names_the_models_tasks():
    mtdnn = model(["rte"], ENCODERS["transformer"])
    with pytest.raises(ConfigurationError, match=r"no task 'sst2'; its tasks: \['rte'\]"):
        build_hf_model(mtdnn, "sst2")


@pytest.mark.parametrize("family", ["roberta", "electra"])
def test_other_encoder_families_export_exactly_or_are_refused(family, tiny_encoders, tmp_path):
    """RoBERTa's classifier is our head (tanh); ELECTRA's uses GELU, so a tanh head is refused
    and a GELU one exported."""
    encoder = {"type": "transformer", "model_name": str(tiny_encoders[family])}

    def build(activation):
        head = {"type": "classification", "pooler_activation": activation}
        return _model_with(encoder, "rte", head=head)

    if family == "electra":
        with pytest.raises(ConfigurationError, match="does not reproduce the head"):
            build_hf_model(build("tanh"), "rte")
    hf_model, _ = build_hf_model(build("tanh" if family == "roberta" else "gelu"), "rte")
    assert type(hf_model).__name__.lower().startswith(family)
