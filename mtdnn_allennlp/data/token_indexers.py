"""A token indexer for word pieces that the reader has already turned into ids."""

from array import array
from typing import Dict, List, Sequence

import torch
from allennlp.data import Token, Vocabulary
from allennlp.data.token_indexers import TokenIndexer
from allennlp.data.token_indexers.token_indexer import IndexedTokenList

from mtdnn_allennlp.common.registered_names import register


@register(TokenIndexer, "mtdnn_wordpiece_ids", deprecated_name="wordpiece_ids")
class WordpieceIdsIndexer(TokenIndexer):
    """Pads word-piece ids into the model's tensors: those of a `WordPiecesField` (the readers'
    field, `pad_ids`), or each token's `text_id` and `type_id` in a `TextField` of `Token`s.

    allennlp's pretrained_transformer indexer would copy the encoder's whole word-piece vocabulary
    into the model's Vocabulary and re-tokenize; here the ids are final, so there is nothing to
    count and nothing to look up. Padding uses the encoder's own pad id (1 for RoBERTa, not 0).

    # Parameters

    pad_token_id : `int`, optional (default = `0`)
        The encoder tokenizer's padding id.
    """

    def __init__(self, pad_token_id: int = 0, token_min_padding_length: int = 0) -> None:
        super().__init__(token_min_padding_length)
        self._pad_token_id = pad_token_id

    @property
    def pad_token_id(self) -> int:
        return self._pad_token_id

    def count_vocab_items(self, token: Token, counter: Dict[str, Dict[str, int]]) -> None:
        pass

    def tokens_to_indices(self, tokens: List[Token], vocabulary: Vocabulary) -> IndexedTokenList:
        return {
            "token_ids": [token.text_id for token in tokens],
            "mask": [True] * len(tokens),
            "type_ids": [token.type_id or 0 for token in tokens],
        }

    def get_empty_token_list(self) -> IndexedTokenList:
        return {"token_ids": [], "mask": [], "type_ids": []}

    def as_padded_tensor_dict(
        self, tokens: IndexedTokenList, padding_lengths: Dict[str, int]
    ) -> Dict[str, torch.Tensor]:
        return self.pad_ids(tokens["token_ids"], tokens["type_ids"], padding_lengths["token_ids"])

    def pad_ids(
        self, ids: Sequence[int], type_ids: Sequence[int], length: int
    ) -> Dict[str, torch.Tensor]:
        """`token_ids` (int64, padded with the pad id), `mask` (bool) and `type_ids` (int64,
        padded with 0), each of `length`. `ids` and `type_ids` are lists or arrays."""
        count = len(ids)
        token_ids = torch.full((length,), self._pad_token_id, dtype=torch.long)
        segments = torch.zeros(length, dtype=torch.long)
        if count:
            token_ids[:count] = _as_tensor(ids)
            segments[:count] = _as_tensor(type_ids)
        return {"token_ids": token_ids, "mask": torch.arange(length) < count, "type_ids": segments}


_ARRAY_DTYPES = {"i": torch.int32, "b": torch.int8}


def _as_tensor(values: Sequence[int]) -> torch.Tensor:
    if isinstance(values, array) and values.typecode in _ARRAY_DTYPES:
        return torch.frombuffer(values, dtype=_ARRAY_DTYPES[values.typecode])  # read, not copied
    return torch.tensor(list(values), dtype=torch.long)
