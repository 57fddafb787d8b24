"""WordPiecesField: word-piece ids in arrays, padded into the tensors a TextField of Tokens with
WordpieceIdsIndexer gives."""

import pickle

import pytest
import torch
from allennlp.data import Batch, Instance, Token, Vocabulary
from allennlp.data.fields import ListField, TextField

from mtdnn_allennlp.data.fields import WordPiecesField
from mtdnn_allennlp.data.token_indexers import WordpieceIdsIndexer

PAD = 1  # RoBERTa's: padding must use the encoder's id, not 0
PAIRS = [([0, 713, 16, 2, 2, 250, 2], [0, 0, 0, 0, 1, 1, 1]), ([0, 31414, 2], [0, 0, 0])]


def _token_field(ids, type_ids):
    tokens = [Token(text=str(i), text_id=i, type_id=t) for i, t in zip(ids, type_ids, strict=True)]
    return TextField(tokens, {"tokens": WordpieceIdsIndexer(pad_token_id=PAD)})


def _tensors(fields):
    batch = Batch([Instance({"tokens": field}) for field in fields])
    batch.index_instances(Vocabulary())
    return batch.as_tensor_dict()["tokens"]["tokens"]


def _same(expected, actual):
    assert set(expected) == set(actual)
    for key in expected:
        assert expected[key].dtype == actual[key].dtype, key
        assert torch.equal(expected[key], actual[key]), key


def test_a_batch_is_padded_as_a_text_field_of_tokens_is():
    indexer = WordpieceIdsIndexer(pad_token_id=PAD)
    actual = _tensors([WordPiecesField(ids, types, indexer) for ids, types in PAIRS])
    _same(_tensors([_token_field(ids, types) for ids, types in PAIRS]), actual)
    assert actual["token_ids"][1].tolist() == [0, 31414, 2, PAD, PAD, PAD, PAD]
    assert actual["mask"][1].tolist() == [True] * 3 + [False] * 4


def test_lists_of_candidates_pad_missing_candidates_as_text_fields_do():
    indexer = WordpieceIdsIndexer(pad_token_id=PAD)
    ours = [
        ListField([WordPiecesField(ids, types, indexer) for ids, types in PAIRS]),
        ListField([WordPiecesField(*PAIRS[1], indexer)]),  # one candidate: padded with an empty
    ]
    theirs = [
        ListField([_token_field(ids, types) for ids, types in PAIRS]),
        ListField([_token_field(*PAIRS[1])]),
    ]
    actual = _tensors(ours)
    _same(_tensors(theirs), actual)
    assert actual["token_ids"].shape == (2, 2, 7)
    assert not actual["mask"][1, 1].any()


def test_ids_are_held_in_compact_arrays_without_token_objects():
    field = WordPiecesField(*PAIRS[0], WordpieceIdsIndexer(pad_token_id=PAD))
    assert (field.ids.itemsize, field.type_ids.itemsize) == (4, 1)
    assert field.ids.tolist() == PAIRS[0][0] and len(field) == 7
    assert not hasattr(field, "tokens") and not hasattr(field, "__dict__")
    assert field.human_readable_repr() == {"ids": PAIRS[0][0], "type_ids": PAIRS[0][1]}
    copy = pickle.loads(pickle.dumps(field))  # multiprocess loading sends instances by pickle
    assert copy == field and copy.indexer.pad_token_id == PAD


def test_ids_and_segment_ids_must_pair_up():
    with pytest.raises(ValueError, match="3 word-piece ids but 2 segment ids"):
        WordPiecesField([1, 2, 3], [0, 0], WordpieceIdsIndexer())
    with pytest.raises(OverflowError):  # an id beyond int32 is refused, never wrapped
        WordPiecesField([2**40], [0], WordpieceIdsIndexer())
