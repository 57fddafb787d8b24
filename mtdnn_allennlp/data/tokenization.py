"""Turns texts and word sequences into the encoder's word pieces, counting what is truncated."""

import json
from dataclasses import dataclass
from functools import cache
from typing import Any, Dict, List, Optional, Tuple

from tokenizers import Encoding, Tokenizer
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from mtdnn_allennlp.common.encoders import resolve_encoder


@dataclass
class Encoded:
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
    Encodes texts, text pairs and pre-split words into the encoder's word pieces.

    Encoding goes through the tokenizer's Rust backend (`tokenizers`), many examples per call:
    a reader announces the inputs of the next chunk of examples (`request_texts`,
    `request_words`), `encode_requested` encodes them in one `encode_batch` call each, and
    `encode_texts` / `encode_words` then return the stored results; an input that was not
    requested is encoded on its own, through the same code. The backend is a private copy of the
    transformers tokenizer's, set up as transformers sets it for `tokenizer(first, second,
    truncation="longest_first", max_length=max_length)`, so the pieces are those of that call
    (fixtures/golden/reader_batches.json holds them). A truncated input is recognised by the
    overflowing pieces the backend keeps, so it is tokenised once.

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
        self._texts_backend = self._backend(self.tokenizer)
        # As transformers returns them: only for a tokenizer whose model takes segment ids.
        self._has_type_ids = "token_type_ids" in self.tokenizer.model_input_names
        self._words_backend: Optional[Tokenizer] = None  # made on first use (see word_tokenizer)
        self._requested_texts: Dict[Tuple[str, Optional[str]], Optional[Encoded]] = {}
        self._requested_words: Dict[Tuple[str, ...], Optional[Encoded]] = {}

    @property
    def word_tokenizer(self) -> PreTrainedTokenizerFast:
        """The tokenizer for pre-split words: the same vocabulary, see `load_tokenizer`."""
        return load_tokenizer(self.encoder, split_words=True)

    @property
    def pad_token_id(self) -> int:
        return self.tokenizer.pad_token_id or 0

    def _backend(self, tokenizer: PreTrainedTokenizerFast) -> Tokenizer:
        """A copy of the tokenizer's backend, truncating as transformers' call does (no padding:
        a saved tokenizer.json may carry a padding setting, which transformers turns off)."""
        backend = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
        backend.no_padding()
        backend.enable_truncation(
            self.max_length,
            stride=0,
            strategy="longest_first",
            direction=tokenizer.truncation_side,
        )
        return backend

    # --- requests: the inputs of the next examples, encoded in one call ----------------------

    def request_texts(self, first: Any, second: Any = None) -> None:
        """Announces that `encode_texts(first, second)` comes. Inputs that are not texts are
        left out (the reader's checks will reject them)."""
        if _is_text(first) and (second is None or _is_text(second)):
            self._requested_texts.setdefault((first, second), None)

    def request_words(self, words: Any) -> None:
        """Announces that `encode_words(words)` comes (see `request_texts`)."""
        if isinstance(words, (list, tuple)) and words and all(_is_text(w) for w in words):
            self._requested_words.setdefault(tuple(words), None)

    def encode_requested(self) -> None:
        """Encodes every requested input not encoded yet, in one backend call per kind."""
        pending = [key for key, value in self._requested_texts.items() if value is None]
        for key, encoded in zip(pending, self._encode_texts_batch(pending), strict=True):
            self._requested_texts[key] = encoded
        pending_words = [key for key, value in self._requested_words.items() if value is None]
        for key, encoded in zip(
            pending_words, self._encode_words_batch(pending_words), strict=True
        ):
            self._requested_words[key] = encoded

    def forget_requested(self) -> None:
        self._requested_texts.clear()
        self._requested_words.clear()

    # --- encoding ------------------------------------------------------------------------

    def encode_texts(self, first: str, second: Optional[str] = None) -> Encoded:
        encoded = self._requested_texts.get((first, second))
        return encoded if encoded is not None else self._encode_texts_batch([(first, second)])[0]

    def encode_words(self, words: List[str]) -> Encoded:
        encoded = self._requested_words.get(tuple(words))
        if encoded is not None:
            return encoded
        return self._encode_words_batch([tuple(words)])[0]

    def _encode_texts_batch(self, inputs: List[Tuple[str, Optional[str]]]) -> List[Encoded]:
        if not inputs:
            return []
        encodings = self._texts_backend.encode_batch(
            [first if second is None else (first, second) for first, second in inputs]
        )
        # The backend keeps what truncation cut off as `overflowing`: no second call is needed
        # to tell a truncated input.
        return [self._result(encoding, bool(encoding.overflowing)) for encoding in encodings]

    def _encode_words_batch(self, inputs: List[Tuple[str, ...]]) -> List[Encoded]:
        if not inputs:
            return []
        if self._words_backend is None:
            self._words_backend = self._backend(self.word_tokenizer)
        encodings = self._words_backend.encode_batch(
            [list(words) for words in inputs], is_pretokenized=True
        )
        results = []
        for words, encoding in zip(inputs, encodings, strict=True):
            word_ids = encoding.word_ids
            word_starts = [-1] * len(words)
            for position, word in enumerate(word_ids):
                if word is not None and word_starts[word] == -1:
                    word_starts[word] = position
            last_kept = max((w for w in word_ids if w is not None), default=-1)
            truncated = last_kept < len(words) - 1
            results.append(self._result(encoding, truncated, word_starts))
        return results

    def _result(self, encoding: Encoding, truncated: bool, word_starts=None) -> Encoded:
        ids = encoding.ids
        type_ids = encoding.type_ids if self._has_type_ids else None
        if not type_ids or not any(type_ids):
            # Tokenizers without segment ids (RoBERTa's) still mark the second text: 1 from its
            # first piece on, so heads that split premise from hypothesis (SAN) work with every
            # encoder. The encoder ignores type ids when its type vocabulary has one entry. (A
            # single text is all segment 0.)
            single = encoding.n_sequences == 1
            type_ids = [0] * len(ids) if single else _segments(encoding.sequence_ids)
        return Encoded(ids, type_ids, truncated, word_starts)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _segments(sequence_ids: List[Optional[int]]) -> List[int]:
    segments, current = [], 0
    for sequence in sequence_ids:
        if sequence == 1:
            current = 1
        segments.append(current)
    return segments
