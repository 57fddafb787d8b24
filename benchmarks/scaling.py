"""Scaling: training cost per example as the number of tasks grows, and as the sequence length
grows, through the package's `allennlp train` loop (see workloads.Experiment).

    MTDNN_DATA=/work/shared/data python benchmarks/scaling.py --quick

Tasks: SST-2 repeated 1, 2, 4 and 8 times under new names, each copy with its own head, loss,
metrics and batches, and the same examples per task. The work per example is then the same for
every count, so the cost per example should stay flat; a rise is the per-task cost of the
framework (more heads, more metric objects, the sampler's schedule).

Length: RTE pairs (long: most exceed 64 pieces) read with max_length 32, 64, 128 (and 256 in
the full run), so the padded length grows with the limit.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402

common.setup_environment()

from benchmarks.workloads import Experiment, experiment_params  # noqa: E402


def study(experiments, units, repeats, reference):
    calls = {name: each.epoch for name, each in experiments.items()}
    seconds = common.interleave(calls, repeats=repeats)
    results = {}
    for name, values in seconds.items():
        per_example = common.per_unit(values, units[name])
        reference_values = common.per_unit(seconds[reference], units[reference])
        results[name] = {
            "epoch_seconds": common.summary(values),
            "ms_per_example": common.summary([1000 * v for v in per_example]),
            "per_example_vs_reference": common.ratio(per_example, reference_values),
        }
    for each in experiments.values():
        each.close()
    return results


def main() -> None:
    args = common.parse(__doc__)
    repeats = args.repeats or (3 if args.quick else 6)
    per_task = 8 if args.quick else 32

    counts = [1, 2, 4, 8]
    tasks = {
        f"{k} tasks": Experiment(
            experiment_params(["sst2"], train_examples=per_task, batch_size=8, copies=k)
        )
        for k in counts
    }
    task_units = {name: each.examples for name, each in tasks.items()}
    task_results = study(tasks, task_units, repeats, "1 tasks")

    lengths = [32, 64, 128] + ([] if args.quick else [256])
    by_length = {
        f"max_length {n}": Experiment(
            experiment_params(["rte"], train_examples=per_task, batch_size=8, max_length=n)
        )
        for n in lengths
    }
    length_units = {name: each.examples for name, each in by_length.items()}
    padded = {name: each.padded_tokens / each.examples for name, each in by_length.items()}
    length_results = study(by_length, length_units, repeats, f"max_length {lengths[0]}")
    for name in length_results:
        length_results[name]["padded_tokens_per_example"] = padded[name]
        ms = length_results[name]["ms_per_example"]["median"]
        length_results[name]["us_per_padded_token"] = 1000 * ms / padded[name]

    rows = [
        [
            name,
            units,
            common.spread_text(r["ms_per_example"]),
            common.spread_text(r["per_example_vs_reference"]),
        ]
        for (name, r), units in zip(task_results.items(), task_units.values(), strict=True)
    ]
    length_rows = [
        [
            name,
            f"{padded[name]:.0f}",
            common.spread_text(r["ms_per_example"]),
            f"{r['us_per_padded_token']:.0f}",
            common.spread_text(r["per_example_vs_reference"]),
        ]
        for name, r in length_results.items()
    ]
    markdown = (
        f"Cost per training example as tasks grow (SST-2 copies, {per_task} examples each, "
        f"batches of 8), {repeats} interleaved repeats, {args.threads} torch thread(s)\n\n"
        + common.table(["tasks", "examples", "ms/example", "vs 1 task"], rows)
        + f"\n\nCost per training example as the length grows (RTE, {per_task} examples, "
        "batches of 8)\n\n"
        + common.table(
            ["limit", "padded pieces/example", "ms/example", "us/padded piece", "vs shortest"],
            length_rows,
        )
    )
    results = {
        "repeats": repeats,
        "examples_per_task": per_task,
        "tasks": task_results,
        "length": length_results,
    }
    common.write_results("scaling", args, results, markdown)


if __name__ == "__main__":
    main()
