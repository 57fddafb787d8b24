"""A token indexer for word pieces that the reader has already turned into ids."""

from typing import Dict, List

import torch
from allennlp.data import Token, Vocabulary
from allennlp.data.token_indexers import TokenIndexer
from allennlp.data.token_indexers.token_indexer import IndexedTokenList

from mtdnn_allennlp.common.registered_names import register


@register(TokenIndexer, "mtdnn_wordpiece_ids", deprecated_name="wordpiece_ids")
class WordpieceIdsIndexer(TokenIndexer):
    """Uses each token's `text_id` and `type_id` as set by the reader's transformers tokenizer.

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
        length = padding_lengths["token_ids"]
        padding = length - len(tokens["token_ids"])
        return {
            "token_ids": torch.tensor(tokens["token_ids"] + [self._pad_token_id] * padding),
            "mask": torch.tensor(tokens["mask"] + [False] * padding),
            "type_ids": torch.tensor(tokens["type_ids"] + [0] * padding),
        }
