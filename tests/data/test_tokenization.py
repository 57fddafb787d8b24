"""PieceEncoder: word pieces through the tokenizer's backend, a chunk of inputs per call, equal to
transformers' own call, with truncation told from one tokenisation."""

import pytest
from transformers import AutoTokenizer

from mtdnn_allennlp.data.tokenization import PieceEncoder
from tests.conftest import TINY_BERT

PAIRS = [
    ("A man is playing a guitar on the stage tonight.", "Someone plays music."),
    ("The cat sat.", None),
    ("Short.", "An even longer hypothesis, with many more words than the premise has in it."),
    ("A man is playing a guitar on the stage tonight.", "Someone plays music."),  # repeated
]
WORDS = [["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."], ["Peter"]]


class CountingBackend:
    """A tokenizers backend that records the inputs of each `encode_batch` call."""

    def __init__(self, backend) -> None:
        self.backend = backend
        self.calls = []

    def encode_batch(self, inputs, **kwargs):
        self.calls.append(list(inputs))
        return self.backend.encode_batch(inputs, **kwargs)


@pytest.mark.parametrize("max_length", [8, 16, 64])
def test_pieces_are_those_of_transformers_call_and_truncation_is_counted(max_length):
    tokenizer = AutoTokenizer.from_pretrained(str(TINY_BERT))
    pieces = PieceEncoder(str(TINY_BERT), max_length)
    for first, second in PAIRS:
        expected = tokenizer(first, second, truncation="longest_first", max_length=max_length)
        whole = tokenizer(first, second)["input_ids"]
        encoded = pieces.encode_texts(first, second)
        assert encoded.ids == expected["input_ids"]
        assert encoded.type_ids == expected["token_type_ids"]
        assert encoded.truncated == (len(whole) > max_length)


def test_requested_inputs_are_encoded_in_one_call_and_each_once():
    pieces = PieceEncoder(str(TINY_BERT), 8)
    pieces._texts_backend = backend = CountingBackend(pieces._texts_backend)
    calls = backend.calls
    alone = [PieceEncoder(str(TINY_BERT), 8).encode_texts(*pair) for pair in PAIRS]
    for pair in PAIRS:
        pieces.request_texts(*pair)
    pieces.request_texts("", None)  # not a text: left to the reader's checks
    pieces.request_texts(["a list"], None)
    pieces.encode_requested()
    assert len(calls) == 1 and len(calls[0]) == 3  # the repeated pair once; truncated ones once
    assert [pieces.encode_texts(*pair) for pair in PAIRS] == alone
    assert len(calls) == 1  # all from the chunk's call
    pieces.forget_requested()
    pieces.encode_texts(*PAIRS[0])
    assert len(calls) == 2  # forgotten: encoded on its own


def test_requested_words_give_the_pieces_and_word_starts_of_words_encoded_alone():
    alone = [PieceEncoder(str(TINY_BERT), 8).encode_words(words) for words in WORDS]
    pieces = PieceEncoder(str(TINY_BERT), 8)
    for words in WORDS:
        pieces.request_words(words)
    pieces.encode_requested()
    assert [pieces.encode_words(words) for words in WORDS] == alone
    assert alone[0].truncated and not alone[1].truncated
    assert alone[0].word_starts[-1] == -1  # cut off by max_length
