"""The encoder's speed options (attention kernel, autocast) and the one-encoder-pass guarantee."""

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.data import Vocabulary
from allennlp.models import Model

from mtdnn_allennlp.modules.shared_encoder import TransformerEncoder
from tests.conftest import TINY_BERT
from tests.data.test_readers import library


def _inputs():
    torch.manual_seed(0)
    token_ids = torch.randint(5, 100, (3, 9))
    mask = torch.ones(3, 9, dtype=torch.bool)
    mask[1, 6:] = False  # padding, so the attention mask matters
    return token_ids, mask


def test_sdpa_and_eager_attention_give_the_same_vectors():
    token_ids, mask = _inputs()
    sdpa = TransformerEncoder(str(TINY_BERT), attn_implementation="sdpa").eval()
    eager = TransformerEncoder(str(TINY_BERT), attn_implementation="eager").eval()
    assert sdpa.transformer.config._attn_implementation == "sdpa"
    assert eager.transformer.config._attn_implementation == "eager"
    with torch.no_grad():
        first, second = sdpa(token_ids, mask), eager(token_ids, mask)
    kept = mask.unsqueeze(-1).expand_as(first)
    torch.testing.assert_close(first[kept], second[kept], atol=1e-5, rtol=1e-4)


def test_an_unknown_attention_kernel_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="flash"):
        TransformerEncoder(str(TINY_BERT), attn_implementation="flash")


def test_bf16_autocast_returns_float32_close_to_float32_and_trains():
    token_ids, mask = _inputs()
    plain = TransformerEncoder(str(TINY_BERT)).eval()
    autocast = TransformerEncoder(str(TINY_BERT), autocast_dtype="bfloat16").eval()
    autocast.load_state_dict(plain.state_dict())
    with torch.no_grad():
        reference = plain(token_ids, mask)
    encoded = autocast(token_ids, mask)
    assert encoded.dtype == torch.float32
    assert not torch.equal(encoded.detach(), reference)  # autocast did change the arithmetic
    torch.testing.assert_close(encoded.detach(), reference, atol=0.1, rtol=0.05)
    encoded.sum().backward()
    gradient = autocast.transformer.get_input_embeddings().weight.grad
    assert gradient is not None and gradient.dtype == torch.float32
    assert torch.isfinite(gradient).all() and gradient.abs().sum() > 0


def test_an_unknown_autocast_dtype_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="float8"):
        TransformerEncoder(str(TINY_BERT), autocast_dtype="float8")


def test_a_training_batch_runs_the_encoder_once():
    rte = library()["rte"]
    model = Model.from_params(
        vocab=Vocabulary.empty(),
        params=Params(
            {
                "type": "mtdnn",
                "encoder": {"type": "transformer", "model_name": str(TINY_BERT)},
                "tasks": [rte],
            }
        ),
    )
    calls = []
    model.encoder.transformer.register_forward_hook(lambda *_: calls.append(1))
    token_ids, mask = _inputs()
    tokens = {
        "tokens": {"token_ids": token_ids, "mask": mask, "type_ids": torch.zeros_like(token_ids)}
    }
    output = model(tokens=tokens, task=["rte"] * 3, label=torch.tensor([0, 1, 0]))
    output["loss"].backward()
    assert len(calls) == 1
