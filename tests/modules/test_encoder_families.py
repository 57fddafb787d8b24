"""RoBERTa, ELECTRA, DeBERTa and DeBERTa-v2 encoders (tiny, random, built offline) next to BERT:
loading, word alignment for tagging, and the perturbed pass of adversarial training."""

from pathlib import Path

import pytest
import torch
import transformers
from allennlp.common import Params
from allennlp.data import Vocabulary
from allennlp.models import Model

try:
    from transformers.models.roberta.modeling_roberta import create_position_ids_from_input_ids
except ImportError:  # transformers 5 made it a static method of the embeddings
    from transformers.models.roberta.modeling_roberta import RobertaEmbeddings

    create_position_ids_from_input_ids = RobertaEmbeddings.create_position_ids_from_input_ids

from mtdnn_allennlp.data.tokenization import PieceEncoder, load_tokenizer
from mtdnn_allennlp.modules.shared_encoder import TransformerEncoder, padded_position_ids
from tests.conftest import TINY_BERT
from tests.data.test_readers import library

FAMILIES = ["bert", "roberta", "electra", "deberta", "deberta_v2"]
BYTE_LEVEL = {"roberta", "deberta"}
WORDS = ["Maria", "Lopez", "visited", "Paris", "on", "Tuesday", "."]


@pytest.fixture
def folder(request, tiny_encoders) -> Path:
    family = request.param
    return TINY_BERT if family == "bert" else tiny_encoders[family]


def _batch(pad_id: int, vocab_size: int):
    torch.manual_seed(0)
    token_ids = torch.randint(5, vocab_size, (3, 10))
    mask = torch.ones(3, 10, dtype=torch.bool)
    mask[1, 6:] = False  # right padding, as the data loader pads
    mask[2, 8:] = False
    token_ids[~mask] = pad_id
    type_ids = torch.zeros_like(token_ids)
    type_ids[:, 4:] = 1
    type_ids[~mask] = 0
    return token_ids, mask, type_ids


@pytest.mark.parametrize("folder", FAMILIES, indirect=True)
def test_the_perturbed_pass_with_zero_noise_is_the_clean_pass(folder):
    encoder = TransformerEncoder(str(folder)).eval()
    pad_id = PieceEncoder(str(folder), 32).pad_token_id
    token_ids, mask, type_ids = _batch(pad_id, encoder.transformer.config.vocab_size)
    with torch.no_grad():
        clean = encoder(token_ids, mask, type_ids)
        embedded = encoder.embed_words(token_ids)
        noise = 0.1 * torch.randn_like(embedded)  # random: LayerNorm would cancel a constant
        # No input ids at all, as the adversarial callback's second pass.
        perturbed = encoder(None, mask, type_ids, word_embeddings=embedded)
        noisy = encoder(None, mask, type_ids, word_embeddings=embedded + noise)
    # Every position, padding included: RoBERTa numbers padding differently from input ids.
    torch.testing.assert_close(perturbed, clean, atol=1e-6, rtol=1e-5)
    assert not torch.allclose(noisy[mask], clean[mask], atol=1e-3)  # the noise does reach it


@pytest.mark.parametrize("folder", FAMILIES, indirect=True)
def test_the_models_perturbed_logits_equal_its_clean_logits(folder):
    rte = library()["rte"]
    model = Model.from_params(
        vocab=Vocabulary.empty(),
        params=Params(
            {"type": "mtdnn", "encoder": {"type": "transformer", "model_name": str(folder)},
             "tasks": [rte]}  # fmt: skip
        ),
    ).eval()
    pad_id = PieceEncoder(str(folder), 32).pad_token_id
    token_ids, mask, type_ids = _batch(pad_id, model.encoder.transformer.config.vocab_size)
    tokens = {"tokens": {"token_ids": token_ids, "mask": mask, "type_ids": type_ids}}
    with torch.no_grad():
        clean = model(tokens=tokens, task=["rte"] * 3)["logits"]
        embedded = model.encoder.embed_words(token_ids)
        perturbed = model.perturbed_logits("rte", embedded, mask, type_ids)
    torch.testing.assert_close(perturbed, clean, atol=1e-6, rtol=1e-5)


def test_position_ids_from_the_mask_are_robertas_from_input_ids():
    padding_idx = 1
    token_ids = torch.tensor([[0, 7, 8, 9, 2], [0, 7, 2, 1, 1]])
    mask = token_ids != padding_idx
    expected = create_position_ids_from_input_ids(token_ids, padding_idx)
    assert torch.equal(padded_position_ids(mask, padding_idx), expected)
    assert padded_position_ids(mask, padding_idx).tolist()[1] == [2, 3, 4, 1, 1]


@pytest.mark.parametrize("folder", FAMILIES, indirect=True)
def test_each_word_starts_on_its_own_first_piece(folder):
    pieces = PieceEncoder(str(folder), 64)
    encoded = pieces.encode_words(WORDS)
    starts = encoded.word_starts
    assert len(starts) == len(WORDS) and not encoded.truncated
    assert starts == sorted(set(starts)) and starts[0] == 1  # after the start token
    ends = starts[1:] + [len(encoded.ids) - 1]  # the end token follows the last word
    tokenizer = pieces.word_tokenizer
    piece_texts = tokenizer.convert_ids_to_tokens(encoded.ids)
    for word, start, end in zip(WORDS, starts, ends, strict=True):
        text = tokenizer.convert_tokens_to_string(piece_texts[start:end]).strip()
        assert text.lower() == word.lower()  # the tiny BERT and ELECTRA lower-case


@pytest.mark.parametrize("family", sorted(BYTE_LEVEL))
def test_byte_level_words_are_tokenized_as_inside_a_sentence(family, tiny_encoders):
    folder = str(tiny_encoders[family])
    pieces = PieceEncoder(folder, 64)
    # As saved (like roberta-base), transformers 4 refuses pre-split words (5 takes them, but
    # without the prefix space a word has inside a sentence)...
    if int(transformers.__version__.split(".")[0]) < 5:
        with pytest.raises(AssertionError, match="add_prefix_space=True"):
            pieces.tokenizer(WORDS, is_split_into_words=True)
    # ...so words get a copy with a prefix space: every word starts with one ("Ġ"), as the
    # same word does after a space in running text.
    encoded = pieces.encode_words(WORDS)
    piece_texts = pieces.tokenizer.convert_ids_to_tokens(encoded.ids)
    assert all(piece_texts[start].startswith("Ġ") for start in encoded.word_starts)
    in_text = pieces.encode_texts("x " + " ".join(WORDS))
    assert encoded.ids[1:] == in_text.ids[2:]  # the same pieces as after "x " in a text
    # Texts keep the tokenizer as saved: no space is invented before the first word.
    first_piece = pieces.encode_texts("Maria visited Paris").ids[1]
    assert not pieces.tokenizer.convert_ids_to_tokens(first_piece).startswith("Ġ")
    assert load_tokenizer(folder) is pieces.tokenizer
    assert load_tokenizer(folder, split_words=True) is pieces.word_tokenizer


@pytest.mark.parametrize("family", ["bert", "electra", "deberta_v2"])
def test_other_tokenizers_use_one_tokenizer_for_words_and_texts(family, tiny_encoders):
    folder = str(TINY_BERT if family == "bert" else tiny_encoders[family])
    pieces = PieceEncoder(folder, 64)
    assert pieces.word_tokenizer is pieces.tokenizer


@pytest.mark.parametrize("family", ["roberta", "deberta", "deberta_v2"])
def test_pair_inputs_mark_the_second_text(family, tiny_encoders):
    pieces = PieceEncoder(str(tiny_encoders[family]), 64)
    encoded = pieces.encode_texts("The cat sat on the mat.", "A cat is sitting.")
    first_of_second = encoded.type_ids.index(1)
    assert set(encoded.type_ids[:first_of_second]) == {0}
    assert set(encoded.type_ids[first_of_second:]) == {1}
    text = pieces.tokenizer.decode(encoded.ids[first_of_second:-1])
    assert text.replace("</s>", "").strip() == "A cat is sitting."
