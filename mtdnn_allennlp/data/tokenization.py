"""Turns texts and word sequences into the encoder's word pieces, counting what is truncated."""

import json
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
def load_tokenizer(encoder: str, split_words: bool = False) -> PreTrainedTokenizerFast:
    """The encoder's fast tokenizer. `split_words=True`: one for pre-split words
    (`is_split_into_words=True`). Byte-level BPE tokenizers (RoBERTa, DeBERTa v1, GPT-2) saved
    without `add_prefix_space` refuse pre-split words, and would tokenize each word as if it
    started a text (no leading space); for words they are reloaded with a prefix space, so
    every word is tokenized as it is inside a sentence. Texts keep the tokenizer as saved."""
    folder = resolve_encoder(encoder)
    if split_words:
        tokenizer = load_tokenizer(encoder)
        if not _byte_level_without_prefix_space(tokenizer):
            return tokenizer  # the one for texts serves
        tokenizer = AutoTokenizer.from_pretrained(folder, use_fast=True, add_prefix_space=True)
        if _byte_level_without_prefix_space(tokenizer):
            raise ValueError(
                f"Encoder '{encoder}' has a byte-level BPE tokenizer ({type(tokenizer).__name__}) "
                "that ignores add_prefix_space=True, so it cannot tokenize pre-split words "
                "(sequence labelling). Save its tokenizer with add_prefix_space=True."
            )
        return tokenizer
    tokenizer = AutoTokenizer.from_pretrained(folder, use_fast=True)
    if not tokenizer.is_fast:
        raise ValueError(f"Encoder '{encoder}' has no fast tokenizer, which word alignment needs.")
    return tokenizer


def _byte_level_without_prefix_space(tokenizer: PreTrainedTokenizerFast) -> bool:
    state = json.loads(tokenizer.backend_tokenizer.to_str())
    pending = [state.get("pre_tokenizer")]
    while pending:  # a pre-tokenizer may be a Sequence of them
        each = pending.pop()
        if not isinstance(each, dict):
            continue
        if each.get("type") == "ByteLevel" and not each.get("add_prefix_space", False):
            return True
        pending.extend(each.get("pretokenizers") or [])
    return False


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
        self.encoder = encoder
        self.tokenizer = load_tokenizer(encoder)
        self.max_length = max_length

    @property
    def word_tokenizer(self) -> PreTrainedTokenizerFast:
        """The tokenizer for pre-split words: the same vocabulary, see `load_tokenizer`."""
        return load_tokenizer(self.encoder, split_words=True)

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
        encoding = self.word_tokenizer(
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
