"""What every benchmark shares: interleaved timing, medians and spreads, ratios, peak memory in a
fresh process, the markdown table and the JSON result file.

The machines these run on are shared and noisy, so a comparison is never two separate runs:
`interleave` runs the variants in turn, repeat after repeat, rotating which goes first, and a
ratio is the median of the per-repeat ratios (each repeat's variants ran seconds apart, under
the same load), reported with its range.
"""

import argparse
import fcntl
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


# --- command line ---------------------------------------------------------------------------


def parser(description: str) -> argparse.ArgumentParser:
    result = argparse.ArgumentParser(description=description)
    result.add_argument(
        "--quick", action="store_true", help="a few minutes: fewer examples and repeats"
    )
    result.add_argument("--repeats", type=int, default=None, help="interleaved repeats")
    result.add_argument(
        "--output", type=Path, default=None, help="JSON file (default: benchmarks/results/)"
    )
    result.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: on a shared, oversubscribed machine more threads "
        "mostly measure contention)",
    )
    return result


def parse(description: str) -> argparse.Namespace:
    args = parser(description).parse_args()
    configure(args)
    return args


def configure(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # for child processes


def data_root() -> Path:
    return Path(os.environ.get("MTDNN_DATA") or "/work/shared/data")


def setup_environment() -> None:
    """Offline, quiet, and on the CPU, as in the docs' commands."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


# --- timing ---------------------------------------------------------------------------------


def on_benchmark_device(model: Any, batches: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Moves `model` to the device MTDNN_DEVICE chooses (auto: the GPU when torch sees one,
    else the CPU; mtdnn_allennlp/training/device.py) and returns `batches` moved there with
    allennlp's move_to_device, as the trainer and predictor do."""
    import torch
    from allennlp.nn.util import move_to_device

    from mtdnn_allennlp.common.environment import setting
    from mtdnn_allennlp.training.device import choose_device

    index = choose_device(setting("MTDNN_DEVICE")).cuda_devices[0]
    device = torch.device("cpu" if index < 0 else f"cuda:{index}")
    model.to(device)
    return [move_to_device(batch, device) for batch in batches]


def interleave(
    variants: Dict[str, Callable[[], Any]], repeats: int, warmup: int = 1
) -> Dict[str, List[float]]:
    """Seconds per call of each variant, `repeats` times, the variants taking turns.

    The order rotates every repeat (A B C, B C A, C A B...) so that no variant always runs
    right after the same neighbour (caches, allocator state, CPU frequency). `warmup` rounds run
    first and are not recorded.
    """
    names = list(variants)
    for _ in range(warmup):
        for name in names:
            variants[name]()
    seconds: Dict[str, List[float]] = {name: [] for name in names}
    for repeat in range(repeats):
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            variants[name]()
            seconds[name].append(time.perf_counter() - start)
            print(
                f"  repeat {repeat + 1}/{repeats} {name}: {seconds[name][-1]:.3f}s", file=sys.stderr
            )
    return seconds


def summary(values: Sequence[float]) -> Dict[str, float]:
    """Median, min, max and the spread: (max - min) / median."""
    median = statistics.median(values)
    return {
        "median": median,
        "min": min(values),
        "max": max(values),
        "spread": (max(values) - min(values)) / median if median else 0.0,
        "n": len(values),
    }


def ratio(numerator: Sequence[float], denominator: Sequence[float]) -> Dict[str, float]:
    """The median of per-repeat ratios (repeat i of one over repeat i of the other)."""
    pairs = [a / b for a, b in zip(numerator, denominator, strict=True)]
    return summary(pairs)


def per_unit(seconds: Sequence[float], units: float) -> List[float]:
    return [value / units for value in seconds]


# --- memory ---------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB.

    Linux's VmHWM first: ru_maxrss survives fork and exec, so a child of a large process (a
    pytest or benchmark process that imported torch) reports at least its parent's size.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_child(args: List[str], timeout: int = 600) -> Dict[str, Any]:
    """Runs `python ARGS` in a fresh process; it must print one JSON object on its last line."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
    result = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- shared machines: load and exclusive rounds ---------------------------------------------


@contextmanager
def load_sampler(every: float = 5.0) -> Iterator[List[float]]:
    """Samples the 1-minute load average every `every` seconds while the block runs."""
    samples = [os.getloadavg()[0]]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(every):
            samples.append(os.getloadavg()[0])

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join()
        samples.append(os.getloadavg()[0])


@contextmanager
def exclusive(lock: Optional[Path]) -> Iterator[None]:
    if lock is None:
        yield
        return
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- output ---------------------------------------------------------------------------------


def fmt(value: Any, digits: int = 3) -> str:
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def spread_text(stats: Dict[str, float], digits: int = 3) -> str:
    return (
        f"{fmt(stats['median'], digits)} [{fmt(stats['min'], digits)}, {fmt(stats['max'], digits)}]"
    )


def table(headers: List[str], rows: List[List[Any]]) -> str:
    cells = [[fmt(cell) for cell in row] for row in rows]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


def machine() -> Dict[str, Any]:
    import torch
    import transformers

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpus": os.cpu_count(),
        "load_average": load,
        "platform": platform.platform(),
    }


def git_commit() -> Optional[str]:
    try:
        return subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def write_results(
    name: str, args: argparse.Namespace, payload: Dict[str, Any], markdown: str
) -> Path:
    """Prints the table and writes the JSON (with the command, machine and commit)."""
    print(markdown)
    path = args.output or RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": name,
        "command": "python " + " ".join([f"benchmarks/{Path(sys.argv[0]).name}", *sys.argv[1:]]),
        "quick": bool(args.quick),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": git_commit(),
        "machine": machine(),
        "results": payload,
        "table": markdown,
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(f"\nwrote {path}")
    return path
