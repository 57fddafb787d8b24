"""Where a training epoch's time goes with 1 and with 8 tasks: a profile, not a timing.

scaling.py times the cost per example as SST-2 is copied into 1 to 8 tasks, and saw it rise by
up to a third under heavy load. This profiles one epoch of each with cProfile and splits the
time (each function's own time, per example) between torch/transformers (the model's arithmetic,
including the optimizer) and the Python layers around it: allennlp, mtdnn_allennlp, tqdm, and
everything else. A per-task framework cost would show as Python time growing with the tasks.

    MTDNN_DATA=../shared/data python benchmarks/scaling_profile.py --quick
"""

import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402

common.setup_environment()

from benchmarks.workloads import Experiment, experiment_params  # noqa: E402

LAYERS = ["torch/transformers", "allennlp", "mtdnn_allennlp", "tqdm", "other Python"]


def layer(filename: str) -> str:
    if filename.startswith("~") or "site-packages/torch" in filename or "transformers" in filename:
        return "torch/transformers"  # "~": C functions (torch's operators among them)
    if "mtdnn_allennlp" in filename:
        return "mtdnn_allennlp"
    if "allennlp" in filename:
        return "allennlp"
    if "tqdm" in filename:
        return "tqdm"
    return "other Python"


def main() -> None:
    args = common.parse(__doc__)
    per_task = 8 if args.quick else 32
    results, rows = {}, []
    for tasks in (1, 8):
        experiment = Experiment(
            experiment_params(["sst2"], train_examples=per_task, batch_size=8, copies=tasks)
        )
        experiment.epoch()  # warm-up
        profile = cProfile.Profile()
        start = time.perf_counter()
        profile.enable()
        experiment.epoch()
        profile.disable()
        seconds = time.perf_counter() - start
        examples = experiment.examples
        experiment.close()
        own = {name: 0.0 for name in LAYERS}
        for (filename, _, _), (_, _, own_time, _, _) in pstats.Stats(profile).stats.items():
            own[layer(filename)] += own_time
        per_example = {name: 1000 * value / examples for name, value in own.items()}
        python = sum(value for name, value in own.items() if name != "torch/transformers")
        results[f"{tasks} tasks"] = {
            "examples": examples,
            "seconds": seconds,
            "own_ms_per_example": per_example,
            "python_share": python / sum(own.values()),
        }
        rows.append(
            [f"{tasks} tasks", examples]
            + [per_example[name] for name in LAYERS]
            + [f"{python / sum(own.values()):.1%}"]
        )
    headers = ["tasks", "examples"] + [f"{name} ms/ex" for name in LAYERS] + ["Python share"]
    markdown = (
        f"One profiled training epoch (SST-2 copies, {per_task} examples each, batches of 8), "
        f"{args.threads} torch thread(s); own time per example by layer\n\n"
        + common.table(headers, rows)
    )
    common.write_results("scaling_profile", args, results, markdown)


if __name__ == "__main__":
    main()
