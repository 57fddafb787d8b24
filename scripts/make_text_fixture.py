"""Writes fixtures/data/text/{train,dev}.txt: raw text for masked-LM tests, one sentence a line.

The sentences come from the fixtures' own samples of openly distributed sets (SNLI, SciTail,
SST-2, RTE); MRPC is left out, as its terms do not allow shipping it.
"""

import csv
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "fixtures" / "data"


def tsv_column(path: Path, columns, header: bool = True):
    with open(path, encoding="utf-8-sig") as handle:
        rows = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        names = next(rows) if header else None
        for row in rows:
            for column in columns:
                position = names.index(column) if names else column
                if position < len(row):
                    yield row[position]


def main() -> None:
    texts = list(tsv_column(DATA / "glue/SST-2/train.tsv", ["sentence"]))
    texts += tsv_column(DATA / "glue/RTE/train.tsv", ["sentence1", "sentence2"])
    texts += tsv_column(DATA / "nli/SciTail/dev.txt", [0, 1], header=False)
    for name in ("s1.dev", "s1.test", "s2.dev"):
        texts += (DATA / "nli/SNLI" / name).read_text(encoding="utf-8").splitlines()
    unique = [text for text in dict.fromkeys(t.strip() for t in texts) if text]
    random.Random(0).shuffle(unique)
    out = DATA / "text"
    out.mkdir(exist_ok=True)
    (out / "train.txt").write_text("\n".join(unique[:-40]) + "\n", encoding="utf-8")
    (out / "dev.txt").write_text("\n".join(unique[-40:]) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
