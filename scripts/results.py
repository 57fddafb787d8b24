"""Runs the experiments behind docs/results.md through the stock CLI, and tabulates them.

    python scripts/results.py run mtl --jobs 2      # train every run of a group not yet done
    python scripts/results.py table mtl             # markdown table + docs/results/mtl.json

Each run is `allennlp train <config> -s results/<group>/<row>/seed<N>` with the environment the
configs read (MTDNN_DATA, MTDNN_SEED, MTDNN_EPOCHS, MTDNN_TRAIN_EXAMPLES). The exact command is
saved beside the run and printed in the table. Figures in the table are read from each run's
metrics.json (the best epoch by the config's validation_metric), never typed in by hand.
A finished run (metrics.json present) is not run again, so an interrupted `run` resumes.
"""

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
SUMMARIES = ROOT / "docs" / "results"
ALLENNLP = str(Path(sys.executable).parent / "allennlp")


@dataclass
class Row:
    name: str
    config: str
    # (task, metric) pairs reported in the table, read as best_validation_<task>_<metric>.
    report: Sequence[Tuple[str, str]]
    env: Dict[str, str] = field(default_factory=dict)
    seeds: Sequence[int] = (1,)
    # A row whose runs are another group's (same config, same environment): it is reported
    # here without training the same thing twice.
    runs_of: str = ""
    # allennlp's --overrides, for a row that differs from its config in one setting.
    overrides: Dict = field(default_factory=dict)


ADV_MTL_REPORT = [
    ("rte", "accuracy"),
    ("mrpc", "accuracy"),
    ("mrpc", "f1"),
    ("sst2", "accuracy"),
    ("stsb", "pearson"),
]

MRPC_REPORT = [("mrpc", "accuracy"), ("mrpc", "f1")]
# A dotted key: allennlp replaces a whole section given as a nested dict.
RANDOM_LENGTHS = {"data_loader.sort_by_length": False}

# Train subsets and epochs are shared by a group so its rows compare like with like.
GROUPS: Dict[str, Dict] = {
    "mtl": {
        "env": {"MTDNN_TRAIN_EXAMPLES": "800", "MTDNN_EPOCHS": "2"},
        "rows": [
            Row("rte", "glue/rte.jsonnet", [("rte", "accuracy")], seeds=(1, 2, 3)),
            Row("rte+snli", "glue/rte_snli.jsonnet", [("rte", "accuracy")], seeds=(1, 2, 3)),
            Row("mrpc", "glue/mrpc.jsonnet", [("mrpc", "accuracy"), ("mrpc", "f1")]),
            Row("stsb", "glue/stsb.jsonnet", [("stsb", "pearson"), ("stsb", "spearman")]),
            Row("cola", "glue/cola.jsonnet", [("cola", "mcc")]),
            Row("sst2", "glue/sst2.jsonnet", [("sst2", "accuracy")]),
            Row(
                "glue-mtl (6 GLUE + snli)",
                "glue/mtdnn.jsonnet",
                [
                    ("rte", "accuracy"),
                    ("mrpc", "accuracy"),
                    ("mrpc", "f1"),
                    ("stsb", "pearson"),
                    ("stsb", "spearman"),
                    ("cola", "mcc"),
                    ("sst2", "accuracy"),
                    ("wnli", "accuracy"),
                ],
            ),
        ],
    },
    # Masked LM as an auxiliary task (docs/pretraining_and_qa.md), against the same task alone.
    # A small budget (200 training examples), as much as the shared CPU allowed at the time.
    "aux_mlm": {
        "env": {"MTDNN_TRAIN_EXAMPLES": "200", "MTDNN_EPOCHS": "2"},
        "rows": [
            Row("rte", "glue/rte.jsonnet", [("rte", "accuracy")]),
            Row("rte+aux_mlm", "pretraining/rte_aux_mlm.jsonnet", [("rte", "accuracy")]),
            Row("mrpc", "glue/mrpc.jsonnet", [("mrpc", "accuracy"), ("mrpc", "f1")]),
            Row(
                "mrpc+aux_mlm",
                "pretraining/mrpc_aux_mlm.jsonnet",
                [("mrpc", "accuracy"), ("mrpc", "f1")],
            ),
        ],
    },
    # The same question at the budget of the "mtl" group, whose single-task runs it reuses.
    "aux_mlm_800": {
        "env": {"MTDNN_TRAIN_EXAMPLES": "800", "MTDNN_EPOCHS": "2"},
        "rows": [
            Row("rte", "glue/rte.jsonnet", [("rte", "accuracy")], seeds=(1, 2, 3), runs_of="mtl"),
            Row(
                "rte+aux_mlm",
                "pretraining/rte_aux_mlm.jsonnet",
                [("rte", "accuracy")],
                seeds=(1, 2, 3),
            ),
            Row("mrpc", "glue/mrpc.jsonnet", [("mrpc", "accuracy"), ("mrpc", "f1")], runs_of="mtl"),
            Row(
                "mrpc+aux_mlm",
                "pretraining/mrpc_aux_mlm.jsonnet",
                [("mrpc", "accuracy"), ("mrpc", "f1")],
            ),
        ],
    },
    # Length-aware batching (the loader's default) against batches of random lengths: the dev
    # score must not drop (docs/performance.md has the padding it saves).
    "padding": {
        "env": {"MTDNN_TRAIN_EXAMPLES": "800", "MTDNN_EPOCHS": "2"},
        "rows": [
            Row(
                "sst2 by-length",
                "glue/sst2.jsonnet",
                [("sst2", "accuracy")],
                seeds=(1, 2, 3),
                runs_of="mtl",
            ),
            Row(
                "sst2-random-lengths",
                "glue/sst2.jsonnet",
                [("sst2", "accuracy")],
                seeds=(1, 2, 3),
                overrides=RANDOM_LENGTHS,
            ),
            Row("mrpc by-length", "glue/mrpc.jsonnet", MRPC_REPORT, runs_of="mtl"),
            Row("mrpc-random-lengths", "glue/mrpc.jsonnet", MRPC_REPORT, overrides=RANDOM_LENGTHS),
        ],
    },
    "ner": {
        "env": {"MTDNN_TRAIN_EXAMPLES": "1000", "MTDNN_EPOCHS": "2"},
        "rows": [
            Row("conll2003", "ner/conll2003.jsonnet", [("conll2003", "span_f1")]),
            Row("ncbi_disease", "biomedical/ncbi_disease.jsonnet", [("ncbi_disease", "span_f1")]),
            Row(
                "conll2003+ncbi_disease",
                "ner/ner_mtl.jsonnet",
                [("conll2003", "span_f1"), ("ncbi_disease", "span_f1")],
            ),
        ],
    },
    # Adversarial (SMART) vs plain, same subsets and epochs (docs/adversarial.md).
    "adversarial": {
        "env": {"MTDNN_TRAIN_EXAMPLES": "800", "MTDNN_EPOCHS": "2"},
        "rows": [
            Row(
                "rte plain",
                "glue/rte.jsonnet",
                [("rte", "accuracy")],
                seeds=(1, 2, 3),
                runs_of="mtl",
            ),
            Row("rte-adv", "adversarial/rte.jsonnet", [("rte", "accuracy")], seeds=(1, 2, 3)),
            Row(
                "mrpc plain",
                "glue/mrpc.jsonnet",
                [("mrpc", "accuracy"), ("mrpc", "f1")],
                runs_of="mtl",
            ),
            Row("mrpc-adv", "adversarial/mrpc.jsonnet", [("mrpc", "accuracy"), ("mrpc", "f1")]),
            Row("sst2 plain", "glue/sst2.jsonnet", [("sst2", "accuracy")], runs_of="mtl"),
            Row("sst2-adv", "adversarial/sst2.jsonnet", [("sst2", "accuracy")]),
            Row(
                "stsb plain",
                "glue/stsb.jsonnet",
                [("stsb", "pearson"), ("stsb", "spearman")],
                runs_of="mtl",
            ),
            Row(
                "stsb-adv", "adversarial/stsb.jsonnet", [("stsb", "pearson"), ("stsb", "spearman")]
            ),
            Row(
                "rte+snli plain",
                "glue/rte_snli.jsonnet",
                [("rte", "accuracy")],
                runs_of="mtl",
            ),
            Row("rte+snli-adv", "adversarial/rte_snli.jsonnet", [("rte", "accuracy")]),
            Row("glue4-mtl plain", "adversarial/glue4_plain.jsonnet", ADV_MTL_REPORT),
            Row("glue4-mtl-adv", "adversarial/mtdnn.jsonnet", ADV_MTL_REPORT),
            Row(
                "conll2003 plain",
                "ner/conll2003.jsonnet",
                [("conll2003", "span_f1")],
                env={"MTDNN_TRAIN_EXAMPLES": "1000"},
                runs_of="ner",
            ),
            Row(
                "conll2003-adv",
                "adversarial/conll2003.jsonnet",
                [("conll2003", "span_f1")],
                env={"MTDNN_TRAIN_EXAMPLES": "1000"},
            ),
        ],
    },
}


def data_root() -> str:
    return os.environ.get("MTDNN_DATA") or str((ROOT.parent / "shared" / "data").resolve())


def run_env(group: str, row: Row, seed: int) -> Dict[str, str]:
    env = {"MTDNN_DATA": data_root(), "MTDNN_SEED": str(seed)}
    env.update(GROUPS[group]["env"])
    env.update(row.env)
    return env


def owner(group: str, row: Row) -> Tuple[str, Row]:
    """The group and row that train `row`'s runs: itself, or the row it borrows them from."""
    if not row.runs_of:
        return group, row
    for other in GROUPS[row.runs_of]["rows"]:
        same_env = run_env(row.runs_of, other, 1) == run_env(group, row, 1)
        if other.config == row.config and other.overrides == row.overrides and same_env:
            return row.runs_of, other
    raise ValueError(f"{group}/{row.name}: no row of group {row.runs_of} runs the same thing")


def run_dir(group: str, row: Row, seed: int) -> Path:
    group, row = owner(group, row)
    slug = row.name.split(" ")[0].replace("+", "_")
    return RESULTS / group / slug / f"seed{seed}"


def command(group: str, row: Row, seed: int) -> List[str]:
    return [
        "allennlp",
        "train",
        f"training_config/{row.config}",
        "-s",
        str(run_dir(group, row, seed).relative_to(ROOT)),
        "--include-package",
        "mtdnn_allennlp",
    ] + (["-o", json.dumps(row.overrides, sort_keys=True)] if row.overrides else [])


def shown(group: str, row: Row, seed: int) -> str:
    env = run_env(group, row, seed)
    env["MTDNN_DATA"] = "../shared/data" if env["MTDNN_DATA"] == data_root() else env["MTDNN_DATA"]
    assignments = " ".join(f"{key}={value}" for key, value in sorted(env.items()))
    return f"{assignments} {shlex.join(command(group, row, seed))}"


def train_one(group: str, row: Row, seed: int, threads: int) -> str:
    out = run_dir(group, row, seed)
    if (out / "metrics.json").is_file():
        return f"done before: {out}"
    if out.exists():  # an interrupted run: start it again from scratch
        subprocess.run(["rm", "-rf", str(out)], check=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, **run_env(group, row, seed))
    env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), HF_HUB_OFFLINE="1")
    cmd = [ALLENNLP] + command(group, row, seed)[1:]
    started = time.time()
    log = out.parent / f"seed{seed}.log"
    with open(log, "w") as handle:
        code = subprocess.call(cmd, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    if code != 0:
        return f"FAILED ({code}) after {time.time() - started:.0f}s: {out}, see {log}"
    (out / "command.txt").write_text(shown(group, row, seed) + "\n")
    return f"{time.time() - started:.0f}s: {out}"


def run(group: str, jobs: int, only: Sequence[str], threads: int = 0) -> None:
    rows = [r for r in GROUPS[group]["rows"] if not only or r.name.split(" ")[0] in only]
    plan = [owner(group, row) + (seed,) for row in rows for seed in row.seeds]
    threads = threads or max(1, (os.cpu_count() or 2) // jobs)
    with ThreadPoolExecutor(jobs) as pool:
        for message in pool.map(lambda item: train_one(*item, threads), plan):
            print(message, flush=True)


def figures(group: str, row: Row) -> Dict[str, List[float]]:
    values: Dict[str, List[float]] = {}
    for seed in row.seeds:
        path = run_dir(group, row, seed) / "metrics.json"
        if not path.is_file():
            continue
        metrics = json.loads(path.read_text())
        for task, metric in row.report:
            key = f"best_validation_{task}_{metric}"
            values.setdefault(f"{task} {metric}", []).append(100 * metrics[key])
    return values


def table(group: str) -> None:
    summary = []
    print("| run | seeds | figures (dev, x100; mean ± sd over seeds) | command (seed shown) |")
    print("|---|---|---|---|")
    for row in GROUPS[group]["rows"]:
        values = figures(group, row)
        if not values:
            continue
        seeds = len(next(iter(values.values())))
        parts = []
        for name, numbers in values.items():
            mean = statistics.mean(numbers)
            spread = f" ± {statistics.stdev(numbers):.1f}" if len(numbers) > 1 else ""
            parts.append(f"{name} {mean:.1f}{spread}")
        cmd = shown(group, row, row.seeds[0])
        print(f"| {row.name} | {seeds} | {'; '.join(parts)} | `{cmd}` |")
        summary.append({"run": row.name, "config": row.config, "figures": values, "command": cmd})
    SUMMARIES.mkdir(parents=True, exist_ok=True)
    (SUMMARIES / f"{group}.json").write_text(json.dumps(summary, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["run", "table"])
    parser.add_argument("group", choices=sorted(GROUPS))
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time")
    parser.add_argument("--only", nargs="*", default=[], help="row names to run")
    parser.add_argument(
        "--threads", type=int, default=0, help="torch threads per run (default: cores / jobs)"
    )
    args = parser.parse_args()
    if args.action == "run":
        run(args.group, args.jobs, args.only, args.threads)
    else:
        table(args.group)


if __name__ == "__main__":
    main()
