"""Padding efficiency: real tokens over padded tokens in the training batches, with and without
the loader's length-aware batching (`sort_by_length`).

    MTDNN_DATA=/work/shared/data python benchmarks/padding.py --quick

The batches are exactly those the multi-task loader builds for one epoch (MiniLM word pieces,
max_length 128, batch size 16 as in training_config/experiment.libsonnet). No timing: the figure
is a count, so it needs no repeats.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402

common.setup_environment()

from allennlp.common import Params  # noqa: E402
from allennlp.data import DataLoader, DatasetReader, Vocabulary  # noqa: E402

from benchmarks.workloads import experiment_params  # noqa: E402

TASKS = ["rte", "mrpc", "sst2", "conll2003"]
TARGET = 0.90


def efficiency(batches) -> dict:
    real = padded = 0
    for batch in batches:
        lengths = [len(instance["tokens"]) for instance in batch]
        real += sum(lengths)
        padded += max(lengths) * len(lengths)
    return {"real_tokens": real, "padded_tokens": padded, "efficiency": real / padded}


def main() -> None:
    args = common.parse(__doc__)
    examples = 2000 if args.quick else 0
    rows = []
    results = {"train_examples_per_task": examples or "all", "tasks": {}}
    for task in TASKS:
        params = experiment_params([task], train_examples=examples)
        reader = DatasetReader.from_params(Params(params["dataset_reader"]))
        per_task = {}
        for sort in (False, True):
            loader_params = dict(params["data_loader"], sort_by_length=sort)
            loader = DataLoader.from_params(
                Params(loader_params), reader=reader, data_path=params["train_data_path"]
            )
            loader.index_with(Vocabulary.empty())
            per_task["sorted" if sort else "unsorted"] = efficiency(loader.epoch_batches(0))
        count = sum(len(batch) for batch in loader.epoch_batches(0))
        gain = per_task["sorted"]["efficiency"] / per_task["unsorted"]["efficiency"]
        per_task.update(examples=count, padded_tokens_saved=1 - 1 / gain)
        results["tasks"][task] = per_task
        rows.append(
            [
                task,
                count,
                f"{per_task['unsorted']['efficiency']:.1%}",
                f"{per_task['sorted']['efficiency']:.1%}",
                f"{per_task['padded_tokens_saved']:.1%}",
                "met" if per_task["sorted"]["efficiency"] >= TARGET else "not met",
            ]
        )
    results["target_at_least"] = TARGET
    results["target_met"] = all(
        each["sorted"]["efficiency"] >= TARGET for each in results["tasks"].values()
    )
    headers = [
        "task",
        "examples",
        "real/padded, random batches",
        "real/padded, sort_by_length",
        "padded tokens saved",
        f"target >= {TARGET:.0%}",
    ]
    markdown = (
        "Padding efficiency of one training epoch's batches (batch size 16, max 128 pieces, "
        f"{'a seeded sample of 2000 training examples per task' if examples else 'whole train'}"
        ")\n\n" + common.table(headers, rows)
    )
    common.write_results("padding", args, results, markdown)


if __name__ == "__main__":
    main()
