"""Cut the small real-data samples in fixtures/data from the full sets in $MTDNN_DATA.

Only the openly licensed sets are sampled (see ../shared/data/README.md): RTE, SST-2, STS-B, CoLA,
WNLI, QNLI, SciTail, SNLI and the BioNER sets. Each sample keeps its set's original layout (header,
BOM, column count), so the fixtures exercise the same readers as the real data. MRPC and
CoNLL-2003 may not be redistributed; their fixtures are written by hand in the same layouts
(fixtures/data/glue/MRPC, fixtures/data/ner/CoNLL2003) and are not produced here.

    python scripts/make_fixtures.py --source ../shared/data --target fixtures/data
"""

import argparse
import random
from pathlib import Path
from typing import List

# (relative path, whether the file has a header row, rows to keep)
TABLES = [
    ("glue/RTE/train.tsv", True, 64),
    ("glue/RTE/dev.tsv", True, 32),
    ("glue/RTE/test.tsv", True, 16),
    ("glue/SST-2/train.tsv", True, 64),
    ("glue/SST-2/dev.tsv", True, 32),
    ("glue/SST-2/test.tsv", True, 16),
    ("glue/STS-B/train.tsv", True, 64),
    ("glue/STS-B/dev.tsv", True, 32),
    ("glue/STS-B/test.tsv", True, 16),
    ("glue/CoLA/train.tsv", False, 64),
    ("glue/CoLA/dev.tsv", False, 32),
    ("glue/CoLA/test.tsv", True, 16),
    ("glue/WNLI/train.tsv", True, 48),
    ("glue/WNLI/dev.tsv", True, 24),
    ("glue/WNLI/test.tsv", True, 16),
    ("glue/QNLI/dev.tsv", True, 48),
    ("glue/QNLI/test.tsv", True, 16),
    ("nli/SciTail/dev.txt", False, 48),
    ("nli/SciTail/test.txt", False, 32),
]
SNLI_SPLITS = [("dev", 64), ("test", 32)]
BIONER = [
    ("ner/BioNER/NCBI-disease-IOB", {"train.tsv": 48, "devel.tsv": 24, "test.tsv": 24}),
    ("ner/BioNER/BC5CDR-chem-IOB", {"train.tsv": 48, "devel.tsv": 24, "test.tsv": 24}),
    ("ner/BioNER/BC5CDR-disease-IOB", {"train.tsv": 48, "devel.tsv": 24, "test.tsv": 24}),
]


def sample_rows(rows: List[str], count: int, rng: random.Random) -> List[str]:
    if len(rows) <= count:
        return rows
    keep = sorted(rng.sample(range(len(rows)), count))  # file order is kept
    return [rows[i] for i in keep]


def write(path: Path, lines: List[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.writelines(lines)


def cut_tables(source: Path, target: Path, rng: random.Random) -> None:
    for relative, has_header, count in TABLES:
        with open(source / relative, encoding="utf-8", newline="") as handle:
            lines = handle.readlines()
        header, body = (lines[:1], lines[1:]) if has_header else ([], lines)
        write(target / relative, header + sample_rows(body, count, rng))


def cut_snli(source: Path, target: Path, rng: random.Random) -> None:
    for split, count in SNLI_SPLITS:
        columns = {}
        for prefix in ("s1", "s2", "labels"):
            with open(source / f"nli/SNLI/{prefix}.{split}", encoding="utf-8") as handle:
                columns[prefix] = handle.readlines()
        keep = sorted(rng.sample(range(len(columns["labels"])), count))
        for prefix, lines in columns.items():
            write(target / f"nli/SNLI/{prefix}.{split}", [lines[i] for i in keep])


def read_sentences(path: Path) -> List[List[str]]:
    sentences, current = [], []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                current.append(line)
            elif current:
                sentences.append(current)
                current = []
    if current:
        sentences.append(current)
    return sentences


def cut_bioner(source: Path, target: Path, rng: random.Random) -> None:
    for folder, files in BIONER:
        for name, count in files.items():
            sentences = sample_rows(read_sentences(source / folder / name), count, rng)
            write(target / folder / name, [line for s in sentences for line in s + ["\n"]])


QNLI_GROUPS = 12  # questions with two candidate sentences, for the qnli_ranking task


def add_qnli_groups(source: Path, target: Path, rng: random.Random) -> None:
    """Adds to the QNLI dev sample whole ranking groups: questions whose two sentences (one
    answering, one not) are both kept, in the source file's order."""
    relative = "glue/QNLI/dev.tsv"
    with open(source / relative, encoding="utf-8", newline="") as handle:
        header, *body = handle.readlines()
    with open(target / relative, encoding="utf-8", newline="") as handle:
        kept = set(handle.readlines()[1:])
    groups: dict = {}
    for line in body:
        groups.setdefault(line.split("\t")[1], []).append(line)
    taken = {line.split("\t")[1] for line in kept}
    candidates = sorted(
        question
        for question, lines in groups.items()
        if question not in taken
        and len(lines) == 2
        and sum(line.rstrip("\n").endswith("\tentailment") for line in lines) == 1
    )
    for question in rng.sample(candidates, QNLI_GROUPS):
        kept.update(groups[question])
    write(target / relative, [header] + [line for line in body if line in kept])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="the full data ($MTDNN_DATA)")
    parser.add_argument("--target", type=Path, default=Path("fixtures/data"))
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    cut_tables(args.source, args.target, rng)
    cut_snli(args.source, args.target, rng)
    cut_bioner(args.source, args.target, rng)
    add_qnli_groups(args.source, args.target, random.Random(args.seed))
    print(f"fixtures written under {args.target}")


if __name__ == "__main__":
    main()
