"""A text (pair) as the encoder's word-piece ids, held in arrays."""

from array import array
from typing import Dict, List, Sequence

import torch
from allennlp.data.fields import Field
from allennlp.nn import util

from mtdnn_allennlp.data.token_indexers import WordpieceIdsIndexer

# One `TextFieldTensors` entry, as allennlp's TextField with one indexer named "tokens" gives:
# {"tokens": {"token_ids", "mask", "type_ids"}}.
WordPieceTensors = Dict[str, Dict[str, torch.Tensor]]


class WordPiecesField(Field[WordPieceTensors]):
    """The word pieces of one encoded text or text pair: their ids and segment ids, as the
    tokenizer made them.

    allennlp's `TextField` holds a `Token` object per piece, which its indexer reads back into
    ids: for a reader that gets ids from the tokenizer, that is a Python object per piece made,
    cached and read back. Here the ids are stored as they come, in compact arrays (4 bytes a
    piece, 1 byte a segment id), and the indexer pads them into the tensors the model takes, the
    same tensors a TextField with `WordpieceIdsIndexer` gives (fixtures/golden/reader_batches.json;
    benchmarks/reading.py measures the time and memory saved).

    # Parameters

    ids : `Sequence[int]`
        The word-piece ids, special pieces included.
    type_ids : `Sequence[int]`
        One segment id per piece (0 for the first text, 1 for the second).
    indexer : `WordpieceIdsIndexer`
        Pads the ids into tensors, with the encoder's pad id.
    """

    __slots__ = ["ids", "type_ids", "indexer"]

    IDS = "i"  # the arrays' typecodes: 32-bit ids, 8-bit segment ids
    TYPE_IDS = "b"

    def __init__(
        self, ids: Sequence[int], type_ids: Sequence[int], indexer: WordpieceIdsIndexer
    ) -> None:
        if len(ids) != len(type_ids):
            raise ValueError(f"{len(ids)} word-piece ids but {len(type_ids)} segment ids")
        self.ids = _array(ids, self.IDS)
        self.type_ids = _array(type_ids, self.TYPE_IDS)
        self.indexer = indexer

    def __len__(self) -> int:
        return len(self.ids)

    def get_padding_lengths(self) -> Dict[str, int]:
        return {"pieces": len(self.ids)}

    def as_tensor(self, padding_lengths: Dict[str, int]) -> WordPieceTensors:
        return {"tokens": self.indexer.pad_ids(self.ids, self.type_ids, padding_lengths["pieces"])}

    def empty_field(self) -> "WordPiecesField":
        return WordPiecesField([], [], self.indexer)

    def batch_tensors(self, tensor_list: List[WordPieceTensors]) -> WordPieceTensors:
        return {"tokens": util.batch_tensor_dicts([tensors["tokens"] for tensors in tensor_list])}

    def human_readable_repr(self) -> Dict[str, List[int]]:
        return {"ids": self.ids.tolist(), "type_ids": self.type_ids.tolist()}

    def __str__(self) -> str:
        return f"WordPiecesField of {len(self.ids)} pieces: {self.ids.tolist()}"


def _array(values: Sequence[int], typecode: str) -> array:
    """`values` as an array of `typecode`: taken as it is if it already is one (the cache)."""
    if isinstance(values, array) and values.typecode == typecode:
        return values
    return array(typecode, values)
