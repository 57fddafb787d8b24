"""Build the tiny random BERT in fixtures/tiny_bert that the tests use instead of a real encoder.

Its WordPiece vocabulary holds the special tokens, single characters (with their ## forms) and
the most frequent words of the fixture data, so the fixtures tokenize into real pieces rather
than [UNK]. Weights are random (seeded): the tests check mechanics, not accuracy.

    python scripts/make_tiny_bert.py
"""

import argparse
import re
import string
from collections import Counter
from pathlib import Path

import torch
from transformers import BertConfig, BertModel, BertTokenizerFast

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def vocabulary(data: Path, words: int) -> list:
    counts: Counter = Counter()
    for path in sorted(data.rglob("*")):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="ignore").lower()
            counts.update(re.findall(r"[a-z]+", text))
    characters = list(string.ascii_lowercase + string.digits + string.punctuation)
    pieces = characters + ["##" + c for c in string.ascii_lowercase + string.digits]
    frequent = [w for w, _ in counts.most_common() if len(w) > 1][:words]
    return SPECIAL + pieces + frequent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("fixtures/data"))
    parser.add_argument("--output", type=Path, default=Path("fixtures/tiny_bert"))
    parser.add_argument("--words", type=int, default=400)
    args = parser.parse_args()

    args.output.mkdir(parents=True, exist_ok=True)
    vocab_file = args.output / "vocab.txt"
    vocab_file.write_text("\n".join(vocabulary(args.data, args.words)) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(vocab_file), do_lower_case=True)

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(args.output)
    tokenizer.save_pretrained(args.output)
    print(
        f"tiny BERT ({sum(p.numel() for p in BertModel(config).parameters())} parameters) "
        f"written to {args.output}"
    )


if __name__ == "__main__":
    main()
