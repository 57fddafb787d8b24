"""Turns texts and word sequences into the encoder's word pieces, counting what is truncated."""

from dataclasses import dataclass
from functools import cache
from typing import List, Optional

from transformers import AutoTokenizer, PreTrainedTokenizerFast

from mtdnn_allennlp.common.encoders import resolve_encoder


@dataclass
class Encoded:
    pieces: List[str]
    ids: List[int]
    type_ids: List[int]
    truncated: bool
    word_starts: Optional[List[int]] = None  # per word: its first piece's position, or -1


@cache
def load_tokenizer(encoder: str) -> PreTrainedTokenizerFast:
    tokenizer = AutoTokenizer.from_pretrained(resolve_encoder(encoder), use_fast=True)
    if not tokenizer.is_fast:
        raise ValueError(f"Encoder '{encoder}' has no fast tokenizer, which word alignment needs.")
    return tokenizer


class PieceEncoder:
    """
    # Parameters

    encoder : `str`
        The encoder whose tokenizer to use (a name or folder, see `resolve_encoder`).
    max_length : `int`
        Longest input in word pieces, special tokens included. Longer inputs are truncated
        (the longer text of a pair first), never dropped, and counted.
    """

    def __init__(self, encoder: str, max_length: int) -> None:
        self.tokenizer = load_tokenizer(encoder)
        self.max_length = max_length

    @property
    def pad_token_id(self) -> int:
        return self.tokenizer.pad_token_id or 0

    def _result(self, encoding, truncated: bool, word_starts=None) -> Encoded:
        ids = encoding["input_ids"]
        type_ids = encoding.get("token_type_ids")
        if not type_ids or not any(type_ids):
            # Tokenizers without segment ids (RoBERTa's) still mark the second text: 1 from its
            # first piece on, so heads that split premise from hypothesis (SAN) work with every
            # encoder. The encoder ignores type ids when its type vocabulary has one entry.
            type_ids = _segments(encoding.sequence_ids())
        pieces = self.tokenizer.convert_ids_to_tokens(ids)
        return Encoded(pieces, ids, type_ids, truncated, word_starts)

    def encode_texts(self, first: str, second: Optional[str] = None) -> Encoded:
        encoding = self.tokenizer(first, second, truncation=False)
        truncated = len(encoding["input_ids"]) > self.max_length
        if truncated:
            encoding = self.tokenizer(
                first, second, truncation="longest_first", max_length=self.max_length
            )
        return self._result(encoding, truncated)

    def encode_words(self, words: List[str]) -> Encoded:
        encoding = self.tokenizer(
            words, is_split_into_words=True, truncation=True, max_length=self.max_length
        )
        word_starts = [-1] * len(words)
        for position, word in enumerate(encoding.word_ids()):
            if word is not None and word_starts[word] == -1:
                word_starts[word] = position
        last_kept = max((w for w in encoding.word_ids() if w is not None), default=-1)
        truncated = last_kept < len(words) - 1
        return self._result(encoding, truncated, word_starts)


def _segments(sequence_ids: List[Optional[int]]) -> List[int]:
    segments, current = [], 0
    for sequence in sequence_ids:
        if sequence == 1:
            current = 1
        segments.append(current)
    return segments
