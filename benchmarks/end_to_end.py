"""A real run, whole process: `allennlp train` on a full task epoch against a bare PyTorch +
transformers loop doing the same work, each as a fresh process.

    python benchmarks/end_to_end.py                 # RTE, full train set, 3 rounds
    python benchmarks/end_to_end.py --quick         # 400 train / 100 dev examples, 2 rounds

Variants, run in turn each round (the order rotates from round to round):

- `mtdnn`: `allennlp train training_config/glue/rte.jsonnet` for one epoch (read, tokenise,
  train, validate, archive), as a user runs it;
- `bare_sorted`: a script with only torch and transformers that reads the same TSV, tokenises
  with the same fast tokenizer (one batched call), builds batches of 16 of similar length (the
  package's pools of 100 batches, sorted within a pool, batches shuffled), trains one epoch with
  `benchmarks/bare.py` (same encoder, heads, AdamW, warm-up, clipping) and scores dev;
- `bare_random`: the same with random batches (what a plain PyTorch DataLoader gives).

Two times per process: the whole process (from its launch to its exit, as a user waits) and the
training loop (allennlp's `training_duration`: the epoch and its validation; the bare loop's
epoch and dev pass). The machine's load average is sampled every 5 s while each process runs.

`--lock FILE` takes an exclusive flock on FILE for each round, so that a benchmark on a shared
machine runs while no other job that honours the same lock does (the wait is not timed).
"""

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402

BATCH_SIZE = 16
EVAL_BATCH_SIZE = 64
MAX_LENGTH = 128
SEED = 1
VARIANTS = ("mtdnn", "bare_sorted", "bare_random")


# --- the bare process ------------------------------------------------------------------------


def read_pairs(path: Path, limit: int) -> List[Dict[str, str]]:
    """RTE's TSV as {premise, hypothesis, label} rows (the keys bare.tokenize_batch reads)."""
    with open(path, newline="") as handle:
        rows = [
            {"premise": row["sentence1"], "hypothesis": row["sentence2"], "label": row["label"]}
            for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        ]
    if limit:
        rows = random.Random(SEED).sample(rows, min(limit, len(rows)))
    return rows


def bare_batches(tokenizer, rows, labels, batching: str, rng) -> List[Dict[str, Any]]:
    """Batches in the package's collated form (tokens/tokens/{token_ids, mask, type_ids})."""
    import torch

    encoded = tokenizer(
        [row["premise"] for row in rows],
        [row["hypothesis"] for row in rows],
        truncation="longest_first",
        max_length=MAX_LENGTH,
    )
    order = list(range(len(rows)))
    rng.shuffle(order)
    if batching == "sorted":
        from mtdnn_allennlp.data.data_loaders.multitask_data_loader import POOL_BATCHES

        pool = BATCH_SIZE * POOL_BATCHES
        pools = [order[i : i + pool] for i in range(0, len(order), pool)]
        order = [i for p in pools for i in sorted(p, key=lambda i: len(encoded["input_ids"][i]))]
    chunks = [order[i : i + BATCH_SIZE] for i in range(0, len(order), BATCH_SIZE)]
    rng.shuffle(chunks)
    batches = []
    for chunk in chunks:
        padded = tokenizer.pad(
            {key: [encoded[key][i] for i in chunk] for key in encoded}, return_tensors="pt"
        )
        batches.append(
            {
                "task": ["rte"] * len(chunk),
                "tokens": {
                    "tokens": {
                        "token_ids": padded["input_ids"],
                        "mask": padded["attention_mask"].bool(),
                        "type_ids": padded["token_type_ids"],
                    }
                },
                "label": torch.tensor([labels.index(rows[i]["label"]) for i in chunk]),
            }
        )
    return batches


def bare_child(batching: str, train_limit: int, dev_limit: int) -> None:
    """The bare process: prints one JSON line (loop seconds, dev accuracy, padding)."""
    import torch
    from transformers import AutoTokenizer

    from benchmarks.bare import BareLoop, tokenize_batch
    from mtdnn_allennlp.common.encoders import resolve_encoder

    torch.manual_seed(SEED)
    folder = common.data_root() / "glue" / "RTE"
    train = read_pairs(folder / "train.tsv", train_limit)
    dev = read_pairs(folder / "dev.tsv", dev_limit)
    labels = ["entailment", "not_entailment"]
    encoder = resolve_encoder(os.environ.get("MTDNN_ENCODER") or "all-MiniLM-L6-v2")
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    rng = random.Random(SEED)
    batches = bare_batches(tokenizer, train, labels, batching, rng)
    task = {"name": "rte", "task_type": "classification", "labels": labels}
    loop = BareLoop([task], batches, encoder)
    start = time.perf_counter()
    loop.epoch()
    correct = 0
    loop.encoder.eval()
    loop.heads.eval()
    with torch.inference_mode():
        for first in range(0, len(dev), EVAL_BATCH_SIZE):
            rows = dev[first : first + EVAL_BATCH_SIZE]
            inputs = tokenize_batch(tokenizer, rows, MAX_LENGTH)
            hidden = loop.encoder(**inputs).last_hidden_state[:, 0]
            predicted = loop.heads["rte"](hidden).argmax(-1).tolist()
            correct += sum(labels[p] == r["label"] for p, r in zip(predicted, rows, strict=True))
    seconds = time.perf_counter() - start
    real = sum(int(b["tokens"]["tokens"]["mask"].sum()) for b in batches)
    padded = sum(b["tokens"]["tokens"]["mask"].numel() for b in batches)
    print(
        json.dumps(
            {
                "loop_seconds": seconds,
                "dev_accuracy": correct / len(dev),
                "train_examples": len(train),
                "batches": len(batches),
                "real_tokens": real,
                "padded_tokens": padded,
            }
        )
    )


# --- the parent: processes, timing, load --------------------------------------------------------


def parse_duration(text: str) -> float:
    """allennlp writes training_duration as str(timedelta): '0:03:19.123456'."""
    days = 0
    if "day" in text:
        head, text = text.split(", ")
        days = int(head.split()[0])
    hours, minutes, seconds = text.split(":")
    return timedelta(
        days=days, hours=int(hours), minutes=int(minutes), seconds=float(seconds)
    ).total_seconds()


def variant_command(
    name: str, args, workdir: Path
) -> Tuple[List[str], Dict[str, str], Optional[Path]]:
    """A variant's command line, its environment, and mtdnn's serialization folder (None for a
    bare loop, which prints its figures)."""
    env = dict(
        os.environ,
        PYTHONPATH=str(common.ROOT),
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        OMP_NUM_THREADS=str(args.threads),
        MKL_NUM_THREADS=str(args.threads),
        MTDNN_DATA=str(common.data_root()),
        MTDNN_SEED=str(SEED),
        MTDNN_EPOCHS="1",
        MTDNN_TRAIN_EXAMPLES=str(args.train_examples),
        MTDNN_DEV_EXAMPLES=str(args.dev_examples),
    )
    if name == "mtdnn":
        out = workdir / f"mtdnn_{time.time_ns()}"
        command = [
            str(Path(sys.executable).parent / "allennlp"),
            "train",
            "training_config/glue/rte.jsonnet",
            "-s",
            str(out),
            "--include-package",
            "mtdnn_allennlp",
        ]
    else:
        out = None
        command = [
            sys.executable,
            "benchmarks/end_to_end.py",
            "--bare-child",
            name.split("_")[1],
            "--train-examples",
            str(args.train_examples),
            "--dev-examples",
            str(args.dev_examples),
        ]
    return command, env, out


def run_variant(name: str, args, workdir: Path) -> Dict[str, Any]:
    command, env, out = variant_command(name, args, workdir)
    with common.load_sampler() as load:
        start = time.perf_counter()
        result = subprocess.run(command, cwd=common.ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{name} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    if name == "mtdnn":
        metrics = json.loads((out / "metrics.json").read_text())
        figures = {
            "loop_seconds": parse_duration(metrics["training_duration"]),
            "dev_accuracy": metrics["best_validation_rte_accuracy"],
        }
        subprocess.run(["rm", "-rf", str(out)], check=True)
    else:
        figures = json.loads(result.stdout.strip().splitlines()[-1])
    figures.update(process_seconds=wall, load_mean=sum(load) / len(load), load_max=max(load))
    print(
        f"  {name}: process {wall:.1f}s, loop {figures['loop_seconds']:.1f}s, "
        f"dev {figures['dev_accuracy']:.3f}, load {figures['load_mean']:.2f}",
        file=sys.stderr,
        flush=True,
    )
    return figures


def measure(args) -> Dict[str, Any]:
    rounds: List[Dict[str, Dict[str, Any]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(args.rounds):
            variants = args.variants
            shift = index % len(variants)
            with common.exclusive(args.lock):
                print(f"round {index + 1}/{args.rounds}", file=sys.stderr, flush=True)
                rounds.append(
                    {
                        name: run_variant(name, args, Path(tmp))
                        for name in variants[shift:] + variants[:shift]
                    }
                )
    ratios = {}
    for bare in (name for name in args.variants if name != "mtdnn"):
        for kind in ("loop_seconds", "process_seconds"):
            ratios[f"mtdnn / {bare}, {kind.split('_')[0]}"] = common.ratio(
                [r["mtdnn"][kind] for r in rounds], [r[bare][kind] for r in rounds]
            )
    return {"rounds": rounds, "ratios": ratios}


def markdown(result: Dict[str, Any], args) -> str:
    size = (
        "full train and dev sets"
        if not args.train_examples
        else (f"{args.train_examples} train / {args.dev_examples} dev examples")
    )
    rows = []
    for name in args.variants:
        values = [r[name] for r in result["rounds"]]
        rows.append(
            [
                name,
                common.spread_text(common.summary([v["process_seconds"] for v in values])),
                common.spread_text(common.summary([v["loop_seconds"] for v in values])),
                ", ".join(f"{v['dev_accuracy']:.3f}" for v in values),
                ", ".join(f"{v['load_mean']:.1f}" for v in values),
            ]
        )
    lines = [
        f"RTE, one epoch ({size}), batch {BATCH_SIZE}, max {MAX_LENGTH} pieces, "
        f"{args.rounds} rounds, {args.threads} torch thread(s) per process",
        "",
        common.table(
            [
                "variant",
                "whole process s, median [min, max]",
                "training loop s",
                "dev accuracy per round",
                "mean load per round",
            ],
            rows,
        ),
        "",
        common.table(
            ["ratio", "median [min, max] of per-round ratios"],
            [[name, common.spread_text(stats)] for name, stats in result["ratios"].items()],
        ),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = common.parser(__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=None, help="default 3 (quick: 2)")
    parser.add_argument("--train-examples", type=int, default=None, help="0: the whole set")
    parser.add_argument("--dev-examples", type=int, default=None, help="0: the whole set")
    parser.add_argument("--lock", type=Path, default=None, help="flock this file per round")
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=VARIANTS,
        default=list(VARIANTS),
        help="mtdnn and the bare loops to time against it (default: all three)",
    )
    parser.add_argument("--bare-child", choices=["sorted", "random"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_child:
        common.configure(args)
        bare_child(args.bare_child, args.train_examples or 0, args.dev_examples or 0)
        return
    if "mtdnn" not in args.variants or len(set(args.variants)) < 2:
        parser.error("--variants: mtdnn and at least one bare loop (the ratios are mtdnn / bare)")
    args.variants = [name for name in VARIANTS if name in args.variants]
    args.rounds = args.rounds or (2 if args.quick else 3)
    if args.train_examples is None:
        args.train_examples = 400 if args.quick else 0
    if args.dev_examples is None:
        args.dev_examples = 100 if args.quick else 0
    common.setup_environment()
    result = measure(args)
    common.write_results("end_to_end", args, result, markdown(result, args))


if __name__ == "__main__":
    main()
