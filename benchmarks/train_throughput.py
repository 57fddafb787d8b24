"""Training throughput: mtdnn_allennlp's `allennlp train` loop against a bare PyTorch loop on
the same batches, plus the speed options (eager vs SDPA attention, bf16 autocast).

    MTDNN_DATA=/work/shared/data python benchmarks/train_throughput.py --quick

Every variant trains one epoch of the same batches (MiniLM encoder, real GLUE data: RTE, MRPC,
SST-2 subsets), the variants taking turns. Overhead = mtdnn time / bare time - 1.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402

common.setup_environment()

from benchmarks.bare import BareLoop  # noqa: E402
from benchmarks.workloads import ENCODER, Experiment, experiment_params, task_specs  # noqa: E402
from mtdnn_allennlp.common.encoders import resolve_encoder  # noqa: E402

TASKS = ["rte", "mrpc", "sst2"]


def main() -> None:
    args = common.parse(__doc__)
    # Quick mode: 3 batches of 8 at most 32 pieces, small enough for an oversubscribed CPU.
    size = (
        {"train_examples": 8, "batch_size": 8, "max_length": 32}
        if args.quick
        else {
            "train_examples": 64,
            "batch_size": 16,
            "max_length": 128,
        }
    )
    repeats = args.repeats or (3 if args.quick else 8)
    params = experiment_params(TASKS, **size)
    variants = {
        "mtdnn": Experiment(params),
        "mtdnn_eager": Experiment(
            experiment_params(TASKS, **size, encoder_extra={"attn_implementation": "eager"})
        ),
        "mtdnn_bf16": Experiment(
            experiment_params(TASKS, **size, encoder_extra={"autocast_dtype": "bfloat16"})
        ),
    }
    reference = variants["mtdnn"]
    bare = BareLoop(task_specs(params), reference.batches, encoder=resolve_encoder(ENCODER))
    for name, experiment in variants.items():
        # Same tokens, same padding: otherwise the comparison would measure the data.
        assert experiment.real_tokens == reference.real_tokens, name
        assert experiment.padded_tokens == reference.padded_tokens, name
    # The same bare loop with torch's default (unfused, per-tensor) AdamW: what the fused
    # optimizer kernel, which the package picks (compat/adamw.py), saves.
    bare_unfused = BareLoop(
        task_specs(params),
        reference.batches,
        encoder=resolve_encoder(ENCODER),
        fused_optimizer=False,
    )
    calls = {
        "bare": bare.epoch,
        "bare_unfused_adamw": bare_unfused.epoch,
        **{name: each.epoch for name, each in variants.items()},
    }
    seconds = common.interleave(calls, repeats=repeats, warmup=1)
    for experiment in variants.values():
        experiment.close()

    n_examples = reference.examples
    padded = reference.padded_tokens
    real = reference.real_tokens
    rows = []
    results = {
        "tasks": TASKS,
        **size,
        "batches": len(reference.batches),
        "examples": n_examples,
        "real_tokens": real,
        "padded_tokens": padded,
        "repeats": repeats,
        "seconds": seconds,
        "variants": {},
    }
    for name, values in seconds.items():
        stats = common.summary(values)
        vs_bare = common.ratio(values, seconds["bare"])
        vs_mtdnn = common.ratio(values, seconds["mtdnn"])
        results["variants"][name] = {
            "epoch_seconds": stats,
            "examples_per_second": n_examples / stats["median"],
            "real_tokens_per_second": real / stats["median"],
            "time_vs_bare": vs_bare,
            "time_vs_mtdnn": vs_mtdnn,
        }
        rows.append(
            [
                name,
                common.spread_text(stats),
                n_examples / stats["median"],
                real / stats["median"],
                common.spread_text(vs_bare),
                common.spread_text(vs_mtdnn),
            ]
        )
    overhead = results["variants"]["mtdnn"]["time_vs_bare"]["median"] - 1
    results["framework_overhead"] = overhead
    results["target_overhead_at_most"] = 0.10
    results["target_met"] = overhead <= 0.10
    headers = [
        "variant",
        "epoch s median [min, max]",
        "examples/s",
        "real tokens/s",
        "time / bare",
        "time / mtdnn",
    ]
    markdown = (
        f"Training one epoch: {n_examples} examples ({', '.join(TASKS)}; "
        f"{len(reference.batches)} batches of {size['batch_size']}, max {size['max_length']} "
        f"pieces, {real} real of {padded} padded tokens), {repeats} interleaved repeats, "
        f"{args.threads} torch thread(s)\n\n"
        + common.table(headers, rows)
        + f"\n\nframework overhead (mtdnn / bare - 1, median of per-repeat ratios): "
        f"{overhead:+.1%} (target <= 10%: {'met' if overhead <= 0.10 else 'not met'})"
    )
    common.write_results("train_throughput", args, results, markdown)


if __name__ == "__main__":
    main()
