"""Reading data at real size: this tree's reading path against a baseline commit's, side by side.

    MTDNN_DATA=../shared/data python benchmarks/reading.py --baseline a7e3b02
    MTDNN_DATA=../shared/data python benchmarks/reading.py --quick      # RTE + MRPC, 2 rounds

Each measurement is a fresh process that reads the whole train files of RTE, MRPC and SST-2
(73,507 examples) with the experiment's MultiTaskReader, in one thread:

- `first read`: tokenising, no cache (what a first `allennlp train` does before its first step);
- `cached read`: from a filled tokenisation cache (`cache_directory` / MTDNN_CACHE).

The baseline is a git worktree of `--baseline` in a temporary folder: its `mtdnn_allennlp` is
imported in place of this tree's, and everything else (this script, the configs, the data) is
the same. The rounds interleave the two, in turns. The first round also hashes every tensor of
every batch of 64 (as scripts/make_golden_batches.py does) in both, which shows that the two
give identical batches on the real data, not only on the fixtures. The machine's load average
is sampled while each process runs.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from copy import deepcopy
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parents[1]
TASKS = ["rte", "mrpc", "sst2"]
QUICK_TASKS = ["rte", "mrpc"]
DIGEST_BATCH = 64
# Issue 14's targets: the first read, and the cached read against the baseline's.
FIRST_READ_TARGET = 5000.0
CACHED_SPEEDUP_TARGET = 3.0


# --- the child: one reading process ----------------------------------------------------------


def use_package_of(tree: Path) -> None:
    """Makes `import mtdnn_allennlp` load the package of `tree`, and arms its allennlp fixes as
    its .pth file would. The child starts with MTDNN_ALLENNLP_NO_COMPAT=1, so that the installed
    package's .pth imports nothing; an editable install's finder, which maps the name to the
    installed tree whatever sys.path says, is taken off the import system."""
    sys.meta_path[:] = [
        f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")
    ]
    sys.path_hooks[:] = [
        h for h in sys.path_hooks if "__editable__" not in getattr(h, "__module__", "")
    ]
    sys.path_importer_cache.clear()
    sys.path.insert(0, str(tree))
    from mtdnn_allennlp.compat import bootstrap

    bootstrap.install()


def child(package_root: Path, tasks: List[str], cache: Path, digest: bool) -> Dict[str, Any]:
    use_package_of(package_root)
    import mtdnn_allennlp

    sys.path.insert(0, str(ROOT))
    from benchmarks import common

    common.setup_environment()
    import torch
    from allennlp.common import Params
    from allennlp.data import DatasetReader

    from benchmarks.workloads import experiment_params

    torch.set_num_threads(1)
    params = experiment_params(tasks, train_examples=0)
    paths = params["train_data_path"]

    def read(cache_directory: Any = None) -> List[Any]:
        config = deepcopy(params["dataset_reader"])
        if cache_directory is not None:
            config["cache_directory"] = str(cache_directory)
        reader = DatasetReader.from_params(Params(config))
        return [list(reader.read_task(task, path)) for task, path in paths.items()]

    figures: Dict[str, Any] = {"package": str(Path(mtdnn_allennlp.__file__).parents[1])}
    start = time.perf_counter()
    instances = read()
    figures["first_read_seconds"] = time.perf_counter() - start
    figures["examples"] = sum(len(each) for each in instances)
    figures["peak_rss_mb"] = common.peak_rss_mb()  # the process holding every instance read
    if not any(cache.iterdir()):
        read(cache)  # fills the cache (not timed)
    start = time.perf_counter()
    cached = read(cache)
    figures["cached_read_seconds"] = time.perf_counter() - start
    if digest:
        figures["digests"] = batch_digests(tasks, instances)
        figures["cached_digests"] = batch_digests(tasks, cached)
    return figures


def batch_digests(tasks: List[str], instances: List[List[Any]]) -> Dict[str, str]:
    """A digest of every tensor of every batch, per task (scripts/make_golden_batches.py)."""
    from allennlp.data import Batch, Vocabulary

    from scripts.make_golden_batches import digest_tensors

    vocabulary = Vocabulary.from_instances(x for each in instances for x in each)
    digests = {}
    for task, task_instances in zip(tasks, instances, strict=True):
        digest = hashlib.sha256()
        for start in range(0, len(task_instances), DIGEST_BATCH):
            batch = Batch(task_instances[start : start + DIGEST_BATCH])
            batch.index_instances(vocabulary)
            digest_tensors(digest, batch.as_tensor_dict())
        digests[task] = digest.hexdigest()
    return digests


# --- the parent: worktree, rounds, load --------------------------------------------------------


def run_child(package_root: Path, tasks: List[str], cache: Path, digest: bool) -> Dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from benchmarks import common

    command = [sys.executable, __file__, "--child", str(package_root), "--cache", str(cache)]
    command += ["--tasks", *tasks] + (["--digest"] if digest else [])
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env.update(OMP_NUM_THREADS="1", PYTHONPATH="", MTDNN_ALLENNLP_NO_COMPAT="1")
    with common.load_sampler() as load:
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    figures["load_mean"] = sum(load) / len(load)
    return figures


def measure(args, baseline_tree: Path, workdir: Path) -> Dict[str, Any]:
    from benchmarks import common

    trees = {"baseline": baseline_tree, "this tree": ROOT}
    caches = {name: workdir / f"cache-{index}" for index, name in enumerate(trees)}
    for cache in caches.values():
        cache.mkdir()
    rounds: List[Dict[str, Any]] = []
    for index in range(args.rounds):
        order = list(trees) if index % 2 == 0 else list(reversed(trees))
        with common.exclusive(args.lock):
            print(f"round {index + 1}/{args.rounds}", file=sys.stderr, flush=True)
            rounds.append(
                {
                    name: run_child(trees[name], args.tasks, caches[name], digest=index == 0)
                    for name in order
                }
            )
    first = rounds[0]
    identical = first["baseline"]["digests"] == first["this tree"]["digests"]
    identical_cached = first["baseline"]["digests"] == first["this tree"]["cached_digests"]
    examples = first["this tree"]["examples"]
    speed = {
        name: {
            kind: [examples / r[name][f"{kind}_seconds"] for r in rounds]
            for kind in ("first_read", "cached_read")
        }
        for name in trees
    }
    ratios = {
        kind: common.ratio(
            [r["baseline"][f"{kind}_seconds"] for r in rounds],
            [r["this tree"][f"{kind}_seconds"] for r in rounds],
        )
        for kind in ("first_read", "cached_read")
    }
    memory = {name: common.summary([r[name]["peak_rss_mb"] for r in rounds]) for name in trees}
    for each in rounds[0].values():
        each.pop("digests"), each.pop("cached_digests")
    return {
        "tasks": args.tasks,
        "examples": examples,
        "baseline": args.baseline,
        "rounds": rounds,
        "examples_per_second": speed,
        "speedup": ratios,
        "peak_rss_mb": memory,
        "identical_batches": identical,
        "identical_cached_batches": identical_cached,
    }


def markdown(result: Dict[str, Any]) -> str:
    from benchmarks import common

    rows = []
    for name, kinds in result["examples_per_second"].items():
        for kind, values in kinds.items():
            stats = common.summary(values)
            rows.append([name, kind.replace("_", " "), common.spread_text(stats, digits=4)])
    loads = [each["load_mean"] for r in result["rounds"] for each in r.values()]
    first = common.summary(result["examples_per_second"]["this tree"]["first_read"])["median"]
    cached = result["speedup"]["cached_read"]["median"]
    memory = result["peak_rss_mb"]
    return (
        f"Reading the whole train files of {', '.join(result['tasks'])} ({result['examples']:,} "
        f"examples, max 128 pieces, 1 thread), this tree against {result['baseline']}, "
        f"{len(result['rounds'])} interleaved rounds, load average {min(loads):.1f}-"
        f"{max(loads):.1f}\n\n"
        + common.table(["tree", "read", "examples/s median [min, max]"], rows)
        + "\n\nspeed-up (baseline seconds / this tree's): first read "
        + common.spread_text(result["speedup"]["first_read"])
        + ", cached read "
        + common.spread_text(result["speedup"]["cached_read"])
        + f"\n\npeak RSS of a process holding every instance read (after the first read): "
        f"baseline {memory['baseline']['median']:,.0f} MiB, this tree "
        f"{memory['this tree']['median']:,.0f} MiB"
        + f"\n\ntargets: first read >= {FIRST_READ_TARGET:,.0f} examples/s: {first:,.0f} "
        f"({'met' if first >= FIRST_READ_TARGET else 'missed'}); cached read >= "
        f"{CACHED_SPEEDUP_TARGET:g}x the baseline's: {cached:.2f}x "
        f"({'met' if cached >= CACHED_SPEEDUP_TARGET else 'missed'})\n\n"
        f"identical batches (every tensor of every batch of {DIGEST_BATCH}, sha256): read "
        f"{'yes' if result['identical_batches'] else 'NO'}, from the cache "
        f"{'yes' if result['identical_cached_batches'] else 'NO'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", default="a7e3b02", help="the commit to compare with")
    parser.add_argument("--rounds", type=int, default=None, help="default 3 (--quick: 2)")
    parser.add_argument("--quick", action="store_true", help="RTE and MRPC only, 2 rounds")
    parser.add_argument("--tasks", nargs="+", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--lock", type=Path, default=None, help="flock this file per round")
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--digest", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.tasks = args.tasks or (QUICK_TASKS if args.quick else TASKS)
    if args.child is not None:
        print(json.dumps(child(args.child, args.tasks, args.cache, args.digest)))
        return
    args.rounds = args.rounds or (2 if args.quick else 3)
    args.threads = 1
    sys.path.insert(0, str(ROOT))
    from benchmarks import common

    with tempfile.TemporaryDirectory(prefix="mtdnn-reading-") as workdir:
        tree = Path(workdir) / "baseline"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), args.baseline],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            result = measure(args, tree, Path(workdir))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT)
    common.write_results("reading", args, result, markdown(result))


if __name__ == "__main__":
    main()
