"""Cut the `make demo` samples in fixtures/demo from the full GLUE files in $MTDNN_DATA.

SST-2 and STS-B only (openly licensed samples may ship, see ../shared/data/README.md; STS-B's
licence file is copied with it). Seeded random rows, in file order, header kept.

    python scripts/make_demo_data.py --source ../shared/data --target fixtures/demo
"""

import argparse
import random
import shutil
from pathlib import Path

# (task folder, split, rows)
SAMPLES = [
    ("SST-2", "train", 1500),
    ("SST-2", "dev", 400),
    ("STS-B", "train", 1000),
    ("STS-B", "dev", 300),
]
SEED = 12


def cut(source: Path, target: Path, folder: str, split: str, rows: int) -> Path:
    lines = (source / "glue" / folder / f"{split}.tsv").read_text(encoding="utf-8").splitlines()
    header, body = lines[0], lines[1:]
    rng = random.Random(f"{SEED}:{folder}:{split}")
    chosen = sorted(rng.sample(range(len(body)), min(rows, len(body))))
    out = target / folder / f"{split}.tsv"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join([header, *(body[i] for i in chosen)]) + "\n", encoding="utf-8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("../shared/data"))
    parser.add_argument("--target", type=Path, default=Path("fixtures/demo"))
    args = parser.parse_args()
    for folder, split, rows in SAMPLES:
        print(cut(args.source, args.target, folder, split, rows))
    shutil.copy(
        args.source / "glue" / "STS-B" / "LICENSE.txt", args.target / "STS-B" / "LICENSE.txt"
    )


if __name__ == "__main__":
    main()
