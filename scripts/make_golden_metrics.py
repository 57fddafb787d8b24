"""Writes fixtures/golden/task_types_metrics.json: the figures of the golden run.

The golden run trains fixtures/configs/golden_task_types.jsonnet (one task of every task type and
data format, the tiny encoder, the fixtures, fixed seeds) through the stock CLI, then makes the
soft targets of its dev files with `allennlp soft-targets`. Its training and validation metrics
and those soft targets are the figures tests/tasks/test_golden_metrics.py asserts, to 1e-6, so
that a refactoring of the per-type code (tasks/types/) shows that it changes no number.

Regenerate it only when a change of numbers is intended, and say why in the commit:
    python scripts/make_golden_metrics.py
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "fixtures" / "configs" / "golden_task_types.jsonnet"
GOLDEN = ROOT / "fixtures" / "golden" / "task_types_metrics.json"
TINY_BERT = ROOT / "fixtures" / "tiny_bert"
DATA = ROOT / "fixtures" / "data"
# The dev files the soft targets are made of: one task of each type that has soft targets.
SOFT_TARGET_FILES = {
    "rte": DATA / "glue" / "RTE" / "dev.tsv",
    "stsb": DATA / "glue" / "STS-B" / "dev.tsv",
    "conll2003": DATA / "ner" / "CoNLL2003" / "valid.txt",
    "everyday_mc": DATA / "multiple_choice" / "dev.jsonl",
    "squad_v2": DATA / "squad" / "dev-v2.0.json",
}
# metrics.json keys that measure the machine, not the model.
NOT_FIGURES = ("time", "duration", "memory", "epoch", "_mb")


def _environment() -> Dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MTDNN_")}
    env.update(
        MTDNN_ENCODER=str(TINY_BERT),
        MTDNN_DEVICE="cpu",
        HF_HUB_OFFLINE="1",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        PYTHONPATH=str(ROOT),
    )
    return env


def _allennlp(*args: str) -> None:
    command = [str(Path(sys.executable).parent / "allennlp"), *args]
    command += ["--include-package", "mtdnn_allennlp"]
    result = subprocess.run(
        command, cwd=ROOT, env=_environment(), capture_output=True, text=True, timeout=900
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-4000:]}")


def golden_figures(folder: Path) -> Dict[str, Any]:
    """Trains the golden config into `folder/run` and returns its figures: the numeric metrics
    (timings and memory left out) and the dev soft targets, keyed by task and id."""
    run = folder / "run"
    _allennlp("train", str(CONFIG), "-s", str(run))
    metrics = json.loads((run / "metrics.json").read_text())
    figures = {
        key: value
        for key, value in sorted(metrics.items())
        if isinstance(value, (int, float))
        and not isinstance(value, bool)
        and not any(part in key for part in NOT_FIGURES)
    }
    soft_targets = folder / "soft_targets.jsonl"
    paths = {task: str(path) for task, path in SOFT_TARGET_FILES.items()}
    _allennlp(
        "soft-targets",
        str(run / "model.tar.gz"),
        json.dumps(paths),
        "--output-file",
        str(soft_targets),
    )
    records = {}
    for line in soft_targets.read_text().splitlines():
        record = json.loads(line)
        records[f"{record.pop('task')}/{record.pop('id')}"] = record
    return {"metrics": figures, "soft_targets": dict(sorted(records.items()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", default=str(GOLDEN))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        figures = golden_figures(Path(folder))
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")
    print(
        f"wrote {args.output}: {len(figures['metrics'])} metrics, "
        f"{len(figures['soft_targets'])} soft-target records"
    )


if __name__ == "__main__":
    main()
