"""Where a real training epoch's time goes: `allennlp train` and the bare loop under py-spy.

end_to_end.py times the two as whole processes, and their ratio moves by several percent from
round to round with the machine's load. This answers the question the ratio cannot: how much
of the package's epoch is spent outside torch's arithmetic. Each variant of end_to_end.py
(the same command and environment: RTE, one epoch, full sets) runs under the sampling profiler
py-spy (`pip install py-spy`; it reads the process from outside, so the timed code is
unchanged), and each sample of the training epoch is given to the layer whose code was running:
the innermost Python frame's file (torch's C++ work shows under the torch function that called
it).

    python benchmarks/loop_profile.py                       # RTE, full sets, py-spy on PATH
    python benchmarks/loop_profile.py --quick               # 400 train / 100 dev examples
    python benchmarks/loop_profile.py --from-raw M.txt B.txt   # analyse profiles already taken

The epoch is `GradientDescentTrainer._train_epoch` (allennlp) and `BareLoop.epoch` (bare.py):
batching, forward, backward, clipping, the optimizer and scheduler, metrics, progress bar and
callbacks; validation and the per-epoch checkpoint are outside it.

A live run keeps each variant's raw profile, gzipped, beside the JSON
(`loop_profile_mtdnn.raw.txt.gz` next to `loop_profile.json`), so that `--from-raw` can
re-analyse what the JSON reports.
"""

import collections
import gzip
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterator, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common, end_to_end  # noqa: E402

VARIANTS = ("mtdnn", "bare_sorted")
# The frame that holds a variant's training epoch.
EPOCH_FRAME = {
    "mtdnn": "GradientDescentTrainer._train_epoch (",
    "bare_sorted": "BareLoop.epoch (",
}
LAYERS = (
    "torch/transformers",
    "allennlp",
    "mtdnn_allennlp",
    "tqdm",
    "tensorboard",
    "benchmarks",
    "other Python",
)


def layer(frame: str) -> str:
    """The layer of one py-spy frame, `function (path:line)`, by its file."""
    path = frame[frame.rfind("(") + 1 :]
    if "site-packages/torch/" in path or "transformers/" in path:
        return "torch/transformers"
    for name in ("mtdnn_allennlp", "allennlp", "tqdm", "tensorboard", "benchmarks"):
        if f"{name}/" in path:
            return name
    return "other Python"


def raw_samples(path: Path) -> Iterator[Tuple[str, int]]:
    """py-spy's `--format raw` file (or its .gz): one `frame;...;frame count` line per stack."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        for number, line in enumerate(handle, start=1):
            # An empty stack (a sample with no Python frame) is a valid line: ` 41`.
            stack, separator, count = line.rstrip("\n").rpartition(" ")
            if not separator or not count.isdigit():
                raise ValueError(f"{path}:{number}: not a py-spy raw line (`stack count`)")
            yield stack, int(count)


def epoch_layers(path: Path, variant: str, rate: float) -> Dict[str, Any]:
    """Seconds of the variant's training epoch by layer, and each layer's share."""
    seconds = collections.Counter({name: 0.0 for name in LAYERS})
    for stack, count in raw_samples(path):
        if EPOCH_FRAME[variant] in stack:
            seconds[layer(stack.rsplit(";", 1)[-1])] += count / rate
    total = sum(seconds.values())
    if not total:
        raise ValueError(f"{path}: no sample inside {EPOCH_FRAME[variant]!r}: not a {variant} run")
    return {
        "epoch_seconds_sampled": total,
        "seconds": dict(seconds),
        "share": {name: value / total for name, value in seconds.items()},
    }


def kept_profile_path(output: Path, variant: str) -> Path:
    """Where a live run keeps a variant's raw profile: gzipped, beside the JSON."""
    return output.with_name(f"{output.stem}_{variant}.raw.txt.gz")


def keep(raw: Path, kept: Path) -> Path:
    """Gzips a raw profile from the run's scratch folder to where it is kept."""
    kept.parent.mkdir(parents=True, exist_ok=True)
    with raw.open("rb") as source, gzip.open(kept, "wb") as target:
        shutil.copyfileobj(source, target)
    return kept


def profile(variant: str, args, workdir: Path) -> Path:
    """Runs one end_to_end.py variant under py-spy; returns the raw profile's path."""
    spy = shutil.which(args.py_spy) or args.py_spy
    if not Path(spy).exists():
        raise SystemExit(f"py-spy not found ({args.py_spy!r}): `pip install py-spy` or --py-spy")
    command, env, _ = end_to_end.variant_command(variant, args, workdir)
    output = workdir / f"{variant}.txt"
    spied = [spy, "record", "--rate", str(args.rate), "--nonblocking", "--format", "raw"]
    spied += ["-o", str(output), "--", *command]
    with common.load_sampler() as load:
        finished = subprocess.run(spied, cwd=common.ROOT, env=env, capture_output=True, text=True)
    if finished.returncode != 0:
        raise RuntimeError(f"{variant} under py-spy failed:\n{finished.stderr[-3000:]}")
    print(f"  {variant}: load {sum(load) / len(load):.2f}", file=sys.stderr, flush=True)
    return output


def markdown(result: Dict[str, Any]) -> str:
    rows = []
    for variant, figures in result["variants"].items():
        shares = [f"{100 * figures['share'][name]:.2f}%" for name in LAYERS]
        rows.append([variant, f"{figures['epoch_seconds_sampled']:.1f}", *shares])
    return common.table(["variant", "epoch s (sampled)", *LAYERS], rows)


def main() -> None:
    parser = common.parser(__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=20, help="py-spy samples per second")
    parser.add_argument("--py-spy", default="py-spy", help="the py-spy executable")
    parser.add_argument("--train-examples", type=int, default=None, help="0: the whole set")
    parser.add_argument("--dev-examples", type=int, default=None, help="0: the whole set")
    parser.add_argument(
        "--from-raw",
        nargs=2,
        type=Path,
        metavar=("MTDNN_RAW", "BARE_RAW"),
        help="analyse these py-spy raw profiles (of the two variants) instead of running",
    )
    args = parser.parse_args()
    if args.train_examples is None:
        args.train_examples = 400 if args.quick else 0
    if args.dev_examples is None:
        args.dev_examples = 100 if args.quick else 0
    common.setup_environment()
    output = args.output or common.RESULTS / "loop_profile.json"
    if args.from_raw:
        raws = dict(zip(VARIANTS, args.from_raw, strict=True))
    else:
        # py-spy writes into a scratch folder; what the JSON names is the kept copy, so a
        # half-finished run leaves no profile beside an old JSON.
        with tempfile.TemporaryDirectory() as tmp:
            scratch = {variant: profile(variant, args, Path(tmp)) for variant in VARIANTS}
            raws = {v: keep(raw, kept_profile_path(output, v)) for v, raw in scratch.items()}
    result = {
        "rate": args.rate,
        "raw_profiles": {variant: str(path) for variant, path in raws.items()},
        "variants": {v: epoch_layers(path, v, args.rate) for v, path in raws.items()},
    }
    common.write_results("loop_profile", args, result, markdown(result))


if __name__ == "__main__":
    main()
