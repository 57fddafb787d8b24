"""Saves GLUE RTE TSV files as a Hugging Face `DatasetDict` folder, laid out as the hub's
`glue/rte` is (columns sentence1, sentence2, label as a ClassLabel, idx), with no network.

    python scripts/make_hf_dataset.py --glue-rte fixtures/data/glue/RTE --out fixtures/data/hf/rte

The fixture folder `fixtures/data/hf/rte` is made this way from the fixture RTE sample; the
tutorial (docs/tutorial_new_task.md) trains it with training_config/tutorial/rte_hf_dataset.jsonnet.
"""

import argparse
import csv
from pathlib import Path

RTE_LABELS = ["entailment", "not_entailment"]
SPLITS = {"train": "train.tsv", "validation": "dev.tsv"}


def read_rte(path: Path) -> dict:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return {
        "sentence1": [row["sentence1"] for row in rows],
        "sentence2": [row["sentence2"] for row in rows],
        "label": [RTE_LABELS.index(row["label"]) for row in rows],
        "idx": [int(row["index"]) for row in rows],
    }


def save_rte(glue_rte: Path, out: Path) -> Path:
    import datasets

    features = datasets.Features(
        {
            "sentence1": datasets.Value("string"),
            "sentence2": datasets.Value("string"),
            "label": datasets.ClassLabel(names=RTE_LABELS),
            "idx": datasets.Value("int32"),
        }
    )
    splits = {
        split: datasets.Dataset.from_dict(read_rte(glue_rte / name), features=features)
        for split, name in SPLITS.items()
    }
    datasets.DatasetDict(splits).save_to_disk(str(out))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--glue-rte", type=Path, default=Path("fixtures/data/glue/RTE"))
    parser.add_argument("--out", type=Path, default=Path("fixtures/data/hf/rte"))
    args = parser.parse_args()
    print(f"saved to {save_rte(args.glue_rte, args.out)}")


if __name__ == "__main__":
    main()
