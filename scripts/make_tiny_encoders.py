"""Build tiny random RoBERTa, ELECTRA, DeBERTa and DeBERTa-v2 encoders, offline, for the tests.

Each is a transformers folder (config, weights, fast tokenizer files) like one from the hub, so
it loads by path exactly as a real encoder would. The tokenizers are trained with the
`tokenizers` library on the fixture sentences: byte-level BPE (RoBERTa, DeBERTa v1, as GPT-2),
a unigram model with a metaspace pre-tokenizer (DeBERTa-v2, as its sentencepiece model), and
ELECTRA reuses the tiny BERT's WordPiece vocabulary. Weights are random (seeded): the tests check
mechanics, not accuracy. Nothing is committed: the tests build them into a temporary folder.

    python scripts/make_tiny_encoders.py --output /tmp/tiny_encoders
"""

import argparse
import csv
import json
import re
from pathlib import Path
from typing import Callable, Dict, Iterable, List

import torch
import transformers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from tokenizers.trainers import BpeTrainer, UnigramTrainer
from transformers import (
    DebertaConfig,
    DebertaModel,
    DebertaTokenizerFast,
    DebertaV2Config,
    DebertaV2Model,
    DebertaV2TokenizerFast,
    ElectraConfig,
    ElectraModel,
    ElectraTokenizerFast,
    RobertaConfig,
    RobertaModel,
    RobertaTokenizerFast,
)

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_DATA = ROOT / "fixtures" / "data"
TINY_BERT = ROOT / "fixtures" / "tiny_bert"

# The same small shape as the tiny BERT fixture.
SHAPE = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
BPE_SPECIAL = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
# DeBERTa names its special tokens as BERT does, in both versions.
DEBERTA_SPECIAL = ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"]
DEBERTA_V2_SPECIAL = DEBERTA_SPECIAL


def fixture_sentences(data: Path = FIXTURE_DATA) -> List[str]:
    """The text of the GLUE TSV fixtures and the words of the CoNLL fixture, one line each."""
    sentences: List[str] = []
    for path in sorted((data / "glue").rglob("*.tsv")):
        with path.open(encoding="utf-8-sig") as lines:
            for row in csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE):
                sentences.extend(cell for cell in row if re.search(r"[A-Za-z]{3}", cell))
    for path in sorted((data / "ner").rglob("*")):
        if path.is_file():
            words = [line.split()[0] for line in path.read_text("utf-8").splitlines() if line]
            sentences.append(" ".join(words))
    return sentences


def _byte_level_bpe(sentences: Iterable[str], vocab_size: int, special: List[str]) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(sentences, trainer)
    return tokenizer


def _save_bpe_files(tokenizer: Tokenizer, output: Path) -> Dict[str, str]:
    # The vocab.json + merges.txt pair of GPT-2 style models, from which the transformers fast
    # tokenizer class builds its own pre-tokenizer and post-processor.
    output.mkdir(parents=True, exist_ok=True)
    files = tokenizer.model.save(str(output))
    vocab, merges = sorted(files, key=lambda name: not name.endswith("vocab.json"))
    return {"vocab_file": vocab, "merges_file": merges}


def _file_arguments(**files: str) -> Dict[str, str]:
    """The tokenizer classes' file arguments: `vocab_file`, `merges_file` in transformers 4,
    `vocab`, `merges` (a path or the contents) in transformers 5."""
    if int(transformers.__version__.split(".")[0]) >= 5:
        return {name[: -len("_file")]: path for name, path in files.items()}
    return files


def build_roberta(output: Path, sentences: List[str], vocab_size: int = 600) -> None:
    files = _save_bpe_files(_byte_level_bpe(sentences, vocab_size, BPE_SPECIAL), output / "_bpe")
    # No add_prefix_space here, like roberta-base on the hub: loading must cope with that.
    tokenizer = RobertaTokenizerFast(**_file_arguments(**files))
    torch.manual_seed(0)
    config = RobertaConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=514,  # 512 positions after the padding index, as roberta-base
        type_vocab_size=1,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **SHAPE,
    )
    _save(RobertaModel(config), tokenizer, output)


def build_deberta(output: Path, sentences: List[str], vocab_size: int = 600) -> None:
    bpe = _byte_level_bpe(sentences, vocab_size, DEBERTA_SPECIAL)
    files = _save_bpe_files(bpe, output / "_bpe")
    tokenizer = DebertaTokenizerFast(
        **_file_arguments(**files),
        bos_token="[CLS]", eos_token="[SEP]", sep_token="[SEP]", cls_token="[CLS]",
        unk_token="[UNK]", pad_token="[PAD]", mask_token="[MASK]",
    )  # fmt: skip
    torch.manual_seed(0)
    # deberta-base's attention: relative positions (c2p and p2c), no absolute position input.
    config = DebertaConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=512,
        type_vocab_size=0,
        relative_attention=True,
        max_relative_positions=-1,
        position_biased_input=False,
        pos_att_type=["c2p", "p2c"],
        pad_token_id=tokenizer.pad_token_id,
        **SHAPE,
    )
    _save(DebertaModel(config), tokenizer, output)


def _unigram(sentences: Iterable[str], vocab_size: int) -> Tokenizer:
    # What DeBERTa-v2's sentencepiece model does: NFKC, whitespace as "▁", a unigram model.
    tokenizer = Tokenizer(models.Unigram())
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = UnigramTrainer(
        vocab_size=vocab_size,
        special_tokens=DEBERTA_V2_SPECIAL,
        unk_token="[UNK]",
        show_progress=False,
    )
    tokenizer.train_from_iterator(sentences, trainer)
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    return tokenizer


def build_deberta_v2(output: Path, sentences: List[str], vocab_size: int = 600) -> None:
    tokenizer = DebertaV2TokenizerFast(tokenizer_object=_unigram(sentences, vocab_size))
    torch.manual_seed(0)
    # deberta-v3-small's attention: relative positions with log buckets, shared key projections.
    config = DebertaV2Config(
        vocab_size=len(tokenizer),
        max_position_embeddings=512,
        type_vocab_size=0,
        relative_attention=True,
        max_relative_positions=-1,
        position_buckets=256,
        norm_rel_ebd="layer_norm",
        share_att_key=True,
        position_biased_input=False,
        pos_att_type=["p2c", "c2p"],
        pad_token_id=tokenizer.pad_token_id,
        **SHAPE,
    )
    _save(DebertaV2Model(config), tokenizer, output)


def build_electra(output: Path, sentences: List[str]) -> None:
    del sentences  # ELECTRA tokenizes as BERT: the tiny BERT's WordPiece vocabulary serves
    vocabulary = _file_arguments(vocab_file=str(TINY_BERT / "vocab.txt"))
    tokenizer = ElectraTokenizerFast(**vocabulary, do_lower_case=True)
    torch.manual_seed(0)
    # Smaller embeddings than hidden states, as electra-small: the model projects them up.
    config = ElectraConfig(
        vocab_size=len(tokenizer),
        embedding_size=16,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
        **SHAPE,
    )
    _save(ElectraModel(config), tokenizer, output)


def _save(model: torch.nn.Module, tokenizer, output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output)
    tokenizer.save_pretrained(output)
    for leftover in (output / "_bpe").glob("*"):
        leftover.unlink()
    if (output / "_bpe").exists():
        (output / "_bpe").rmdir()


FAMILIES: Dict[str, Callable[[Path, List[str]], None]] = {
    "roberta": build_roberta,
    "electra": build_electra,
    "deberta": build_deberta,
    "deberta_v2": build_deberta_v2,
}


def build(families: Iterable[str], output: Path) -> Dict[str, Path]:
    """Builds each family into output/<family>; returns the folders."""
    sentences = fixture_sentences()
    folders = {}
    for family in families:
        FAMILIES[family](output / family, sentences)
        folders[family] = output / family
    return folders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--families", nargs="+", choices=sorted(FAMILIES), default=list(FAMILIES))
    args = parser.parse_args()
    for family, folder in build(args.families, args.output).items():
        print(json.dumps({"family": family, "folder": str(folder)}))


if __name__ == "__main__":
    main()
