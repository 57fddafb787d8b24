"""Reading data: tokenising a training file against loading its instances from the
tokenisation cache (`cache_directory` / MTDNN_CACHE), side by side.

    MTDNN_DATA=/work/shared/data python benchmarks/reading.py --quick

It also counts the examples the reader tokenises twice (a pair longer than max_length is
tokenised once to detect it, once more truncated), the only repeated tokenisation left.
"""

import sys
import tempfile
from copy import deepcopy
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402

common.setup_environment()

from allennlp.common import Params  # noqa: E402
from allennlp.data import DatasetReader  # noqa: E402

from benchmarks.workloads import experiment_params  # noqa: E402


def main() -> None:
    args = common.parse(__doc__)
    tasks = ["rte", "mrpc"] if args.quick else ["rte", "mrpc", "sst2", "conll2003"]
    repeats = args.repeats or (3 if args.quick else 5)
    params = experiment_params(tasks, train_examples=0)
    paths = params["train_data_path"]
    cache = tempfile.TemporaryDirectory(prefix="mtdnn-cache-")
    counts = {}

    def read(cached: bool):
        def run():
            extra = {"cache_directory": cache.name} if cached else {}
            config = dict(deepcopy(params["dataset_reader"]), **extra)
            reader = DatasetReader.from_params(Params(config))
            total = 0
            for task, path in paths.items():
                total += sum(1 for _ in reader.read_task(task, path))
                counts[task] = (reader.readers[task].read_count, reader.readers[task].truncated)
            return total

        return run

    read(cached=True)()  # fills the cache
    seconds = common.interleave(
        {"tokenise": read(cached=False), "from_cache": read(cached=True)}, repeats=repeats
    )
    cache.cleanup()
    examples = sum(count for count, _ in counts.values())
    twice = sum(truncated for _, truncated in counts.values())
    speedup = common.ratio(seconds["tokenise"], seconds["from_cache"])
    rows = []
    for name, values in seconds.items():
        stats = common.summary(values)
        rows.append([name, common.spread_text(stats), examples / stats["median"]])
    results = {
        "tasks": tasks,
        "examples": examples,
        "repeats": repeats,
        "seconds": seconds,
        "cache_speedup": speedup,
        "tokenised_twice": twice,
        "tokenised_twice_fraction": twice / examples,
    }
    markdown = (
        f"Reading the whole train files of {', '.join(tasks)} ({examples} examples, max 128 "
        f"pieces), {repeats} interleaved repeats\n\n"
        + common.table(["variant", "seconds median [min, max]", "examples/s"], rows)
        + f"\n\ncache speed-up (tokenise / from_cache): {common.spread_text(speedup)}; "
        f"examples tokenised twice (truncated pairs): {twice} ({twice / examples:.1%})"
    )
    common.write_results("reading", args, results, markdown)


if __name__ == "__main__":
    main()
