"""Student encoders: the small transformer keeps the chosen teacher layers; the BiLSTM is
independent of padding and keeps the word-embedding entry point."""

import pytest
import torch
from allennlp.common.checks import ConfigurationError
from transformers import AutoModel

from mtdnn_allennlp.modules.student_encoders import (
    BiLstmEncoder,
    TransformerStudent,
    evenly_spaced_layers,
)
from tests.support.tiny_models import TINY_BERT


def test_evenly_spaced_layers():
    assert evenly_spaced_layers(6, 3) == [0, 2, 4]
    assert evenly_spaced_layers(6, 2) == [0, 3]
    assert evenly_spaced_layers(12, 4) == [0, 3, 6, 9]


def test_small_transformer_copies_the_chosen_teacher_layers():
    teacher = AutoModel.from_pretrained(TINY_BERT)
    student = TransformerStudent(TINY_BERT, layers=[1])
    assert len(student.transformer.encoder.layer) == 1
    kept = student.transformer.encoder.layer[0].state_dict()
    for name, value in teacher.encoder.layer[1].state_dict().items():
        assert torch.equal(kept[name], value), name
    assert torch.equal(
        student.transformer.embeddings.word_embeddings.weight,
        teacher.embeddings.word_embeddings.weight,
    )


def test_small_transformer_from_config_and_bad_layers():
    student = TransformerStudent(
        TINY_BERT, num_layers=1, initialise="config", config_overrides={"hidden_size": 16}
    )
    assert student.hidden_size == 16 and len(student.transformer.encoder.layer) == 1
    with pytest.raises(ConfigurationError, match="layers 0 to 1"):
        TransformerStudent(TINY_BERT, layers=[0, 5])
    with pytest.raises(ConfigurationError, match="either num_layers or layers"):
        TransformerStudent(TINY_BERT)


def test_bilstm_output_does_not_depend_on_padding_and_starts_with_a_summary():
    torch.manual_seed(0)
    encoder = BiLstmEncoder(TINY_BERT, lstm_size=8, num_layers=2).eval()
    ids = torch.tensor([[2, 10, 11, 12, 3]])
    mask = torch.ones_like(ids, dtype=torch.bool)
    alone = encoder(ids, mask)
    padded_ids = torch.cat([ids, torch.zeros(1, 3, dtype=torch.long)], dim=1)
    padded_mask = torch.cat([mask, torch.zeros(1, 3, dtype=torch.bool)], dim=1)
    padded = encoder(padded_ids, padded_mask)
    assert torch.allclose(padded[:, :5], alone, atol=1e-6)
    assert torch.allclose(alone[0, 0], alone[0].max(dim=0).values)  # max-pool at position 0
    assert encoder.hidden_size == 16


def test_bilstm_embeddings_come_from_the_teacher_and_feed_forward():
    teacher = AutoModel.from_pretrained(TINY_BERT)
    encoder = BiLstmEncoder(TINY_BERT, lstm_size=4).eval()
    assert torch.equal(encoder.embeddings.weight, teacher.get_input_embeddings().weight)
    ids = torch.tensor([[2, 40, 41, 3]])
    mask = torch.ones_like(ids)
    from_words = encoder(ids, mask, word_embeddings=encoder.embed_words(ids))
    assert torch.allclose(from_words, encoder(ids, mask))
    with pytest.raises(ConfigurationError, match="embedding_dim 7 differs"):
        BiLstmEncoder(TINY_BERT, embedding_dim=7)
