"""Masked LM: dynamic masking, the tied output layer, the fresh encoder, its texts and sampler."""

import json
import random
from pathlib import Path

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.common.util import import_module_and_submodules
from allennlp.data import DatasetReader
from transformers import AutoTokenizer

from mtdnn_allennlp.data.data_loaders.samplers import TaskSampler
from mtdnn_allennlp.models.heads import MaskedLmHead
from mtdnn_allennlp.modules.config_encoder import ConfigTransformerEncoder
from mtdnn_allennlp.modules.shared_encoder import TransformerEncoder
from mtdnn_allennlp.tasks import TaskDefinition

import_module_and_submodules("mtdnn_allennlp")

ROOT = Path(__file__).resolve().parents[2]
TINY_BERT = str(ROOT / "fixtures" / "tiny_bert")
RTE_TRAIN = ROOT / "fixtures" / "data" / "glue" / "RTE" / "train.tsv"
IGNORE = -100

MLM = TaskDefinition(name="mlm", task_type="masked_lm", data_format="text", reader={})
SMALL = {"model_type": "bert", "hidden_size": 16, "num_hidden_layers": 1}
SMALL.update(num_attention_heads=2, intermediate_size=32)


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(TINY_BERT)


@pytest.fixture(scope="module")
def encoder():
    return TransformerEncoder(TINY_BERT)


def batch(tokenizer, rows: int = 64):
    texts = [f"the man walks {'a long way ' * (i % 7)}home" for i in range(rows)]
    encoded = tokenizer(texts, padding=True, return_tensors="pt")
    return encoded["input_ids"], encoded["attention_mask"].bool()


def test_masking_follows_bert_rates_and_spares_special_tokens_and_padding(encoder, tokenizer):
    head = MaskedLmHead(encoder.hidden_size, MLM, encoder=encoder)
    head.train()
    token_ids, mask = batch(tokenizer, rows=400)
    inputs, targets = head.corrupt(token_ids, mask)
    chosen = targets != IGNORE
    special = torch.isin(token_ids, torch.tensor(tokenizer.all_special_ids))
    assert not (chosen & (special | ~mask)).any()
    assert torch.equal(targets[chosen], token_ids[chosen])
    assert torch.equal(inputs[~chosen], token_ids[~chosen])  # only chosen pieces change
    candidates = int((mask & ~special).sum())
    assert 0.13 < int(chosen.sum()) / candidates < 0.17
    masked = (inputs == tokenizer.mask_token_id) & chosen
    kept = (inputs == token_ids) & chosen
    n = int(chosen.sum())
    assert 0.75 < int(masked.sum()) / n < 0.85
    # kept: the 10% left alone, plus random draws that happen to hit the same piece
    assert 0.07 < int(kept.sum()) / n < 0.15
    assert (chosen.sum(-1) >= 1).all()  # every row predicts something


def test_masks_are_new_in_training_and_fixed_in_evaluation(encoder, tokenizer):
    head = MaskedLmHead(encoder.hidden_size, MLM, encoder=encoder)
    token_ids, mask = batch(tokenizer)
    head.train()
    assert not torch.equal(head.corrupt(token_ids, mask)[1], head.corrupt(token_ids, mask)[1])
    head.eval()
    first, second = head.corrupt(token_ids, mask), head.corrupt(token_ids, mask)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])


def test_the_output_layer_is_the_encoders_input_embedding(encoder, tokenizer):
    head = MaskedLmHead(encoder.hidden_size, MLM, encoder=encoder)
    embedding = encoder.transformer.get_input_embeddings().weight
    assert head.output_weight() is embedding
    assert not any(p is embedding for p in head.parameters())  # saved once, with the encoder
    token_ids, mask = batch(tokenizer, rows=2)
    logits = head(encoder(token_ids, mask), mask)
    assert logits.shape == (*token_ids.shape, embedding.shape[0])
    embedding.grad = None
    logits[..., 5].sum().backward()
    assert embedding.grad is not None and embedding.grad[5].abs().sum() > 0
    untied = MaskedLmHead(encoder.hidden_size, MLM, encoder=encoder, tie_weights=False)
    assert untied.output_weight() is not embedding


@pytest.mark.parametrize(
    "settings", [{"mask_probability": 0.0}, {"replace_with_mask": 0.9, "replace_with_random": 0.2}]
)
def test_bad_masking_rates_are_configuration_errors(encoder, settings):
    with pytest.raises(ConfigurationError):
        MaskedLmHead(encoder.hidden_size, MLM, encoder=encoder, **settings)


def test_a_fresh_encoder_takes_its_shape_from_the_config_and_its_vocabulary_from_the_tokenizer(
    tokenizer,
):
    fresh = ConfigTransformerEncoder(dict(SMALL), tokenizer=TINY_BERT)
    config = fresh.transformer.config
    assert (config.hidden_size, config.num_hidden_layers) == (16, 1)
    assert config.vocab_size == len(tokenizer)
    assert fresh.hidden_size == 16 and fresh.tokenizer_name == TINY_BERT
    pretrained = TransformerEncoder(TINY_BERT).transformer.embeddings.word_embeddings.weight
    assert pretrained.shape[1] != config.hidden_size  # not loaded: built from the config


@pytest.mark.parametrize(
    "config, message",
    [
        ({"hidden_size": 16}, "model_type"),
        (dict(SMALL, vocab_size=10), "smaller than the tokenizer"),
    ],
)
def test_fresh_encoder_config_errors(config, message):
    with pytest.raises(ConfigurationError, match=message):
        ConfigTransformerEncoder(config, tokenizer=TINY_BERT)


def test_raw_text_reader_skips_blank_lines(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text("The first line.\n\n  \nThe second line.\n")
    reader = DatasetReader.from_params(
        Params({"type": "masked_lm_text"}), task=MLM, encoder=TINY_BERT
    )
    instances = list(reader.read(str(path)))
    assert [i["metadata"].metadata["text"] for i in instances] == [
        "The first line.",
        "The second line.",
    ]
    assert [i["metadata"].metadata["id"] for i in instances] == [1, 4]


def test_texts_of_another_task_are_read_with_its_layout_as_pairs(tokenizer):
    rte = {
        "name": "rte",
        "task_type": "classification",
        "data_format": "premise_and_one_hypothesis",
        "labels": ["entailment", "not_entailment"],
        "reader": {
            "type": "glue_tsv",
            "columns": {"premise": "sentence1", "hypothesis": "sentence2"},
        },
    }
    reader = DatasetReader.from_params(
        Params({"type": "masked_lm_text", "sources": {"rte": rte}}), task=MLM, encoder=TINY_BERT
    )
    rows = [line.split("\t") for line in RTE_TRAIN.read_text().splitlines()[1:]]
    instances = list(reader.read(str(RTE_TRAIN)))
    assert len(instances) == len(rows)
    first = instances[0]
    expected = tokenizer(rows[0][1], rows[0][2], truncation="longest_first", max_length=128)
    assert first["tokens"].ids.tolist() == expected["input_ids"]
    assert set(first["tokens"].type_ids) == {0, 1}  # a pair stays a pair
    # a mapping names each source's file
    both = list(reader.read(json.dumps({"rte": str(RTE_TRAIN)})))
    assert len(both) == len(rows)
    with pytest.raises(ConfigurationError, match="not among its sources"):
        list(reader.read(json.dumps({"mrpc": str(RTE_TRAIN)})))


def test_weighted_sampler_scales_each_tasks_batches():
    sampler = TaskSampler.from_params(Params({"type": "weighted", "weights": {"mlm": 0.5}}))
    order = sampler.schedule({"rte": 10, "mlm": 8}, random.Random(0), epoch=0)
    assert order.count("rte") == 10 and order.count("mlm") == 4
    assert sampler.schedule({"rte": 10, "mlm": 1}, random.Random(0), 0).count("mlm") == 1
    with pytest.raises(ConfigurationError, match="no data"):
        sampler.schedule({"rte": 10}, random.Random(0), 0)
    with pytest.raises(ConfigurationError, match="positive"):
        TaskSampler.from_params(Params({"type": "weighted", "weights": {"mlm": 0}}))


def test_the_model_scores_only_the_masked_pieces_with_the_loss_of_every_position(tokenizer):
    from allennlp.data import Vocabulary

    from mtdnn_allennlp.models.multitask_model import MultiTaskModel

    torch.manual_seed(0)
    task = TaskDefinition(
        name="mlm", task_type="masked_lm", data_format="text", reader={}, metrics=["accuracy"]
    )
    model = MultiTaskModel(Vocabulary(), TransformerEncoder(TINY_BERT), [task])
    model.eval()  # evaluation masks are fixed, so both computations see the same ones
    token_ids, mask = batch(tokenizer, rows=8)
    tokens = {"tokens": {"token_ids": token_ids, "mask": mask}}
    output = model(tokens=tokens, task=["mlm"] * 8, label=torch.zeros(8))
    head = model.heads["mlm"]
    inputs, targets = head.corrupt(token_ids, mask)
    every_position = head(model.encoder(inputs, mask), mask)
    expected = torch.nn.functional.cross_entropy(
        every_position.reshape(-1, every_position.size(-1)),
        targets.reshape(-1),
        ignore_index=IGNORE,
    )
    chosen = int((targets != IGNORE).sum())
    assert 0 < chosen < mask.sum()
    assert output["logits"].shape == (chosen, every_position.size(-1))
    torch.testing.assert_close(output["loss"], expected, rtol=1e-5, atol=1e-6)
    accuracy = model.get_metrics(reset=True)["mlm_accuracy"]
    predicted = every_position.argmax(-1)[targets != IGNORE]
    assert accuracy == pytest.approx(
        (predicted == targets[targets != IGNORE]).float().mean().item()
    )
