"""Writes raw text for masked-LM pre-training from SNLI premises (the run in docs/results.md).

    python scripts/snli_premises_text.py OUT [--train 800] [--dev 150]

OUT/text/train.txt: distinct premises of nli/SNLI/s1.dev, shuffled (seed 0), the first N.
OUT/text/dev.txt: distinct premises of s1.test that are not in s1.dev, shuffled (seed 1).
Then: MTDNN_DATA=OUT allennlp train training_config/pretraining/mlm.jsonnet ...
The data stays outside the project (MTDNN_DATA, default ../shared/data).
"""

import argparse
import os
import random
from pathlib import Path


def distinct_lines(path: Path):
    return list(
        dict.fromkeys(line.strip() for line in open(path, encoding="utf-8") if line.strip())
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--train", type=int, default=800)
    parser.add_argument("--dev", type=int, default=150)
    args = parser.parse_args()
    snli = Path(os.environ.get("MTDNN_DATA", "../shared/data")) / "nli" / "SNLI"
    train = distinct_lines(snli / "s1.dev")
    seen = set(train)
    dev = [line for line in distinct_lines(snli / "s1.test") if line not in seen]
    random.Random(0).shuffle(train)
    random.Random(1).shuffle(dev)
    folder = Path(args.out) / "text"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.txt").write_text("\n".join(train[: args.train]) + "\n", encoding="utf-8")
    (folder / "dev.txt").write_text("\n".join(dev[: args.dev]) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
