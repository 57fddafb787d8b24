"""Training step time of SMART and R3F adversarial training over plain training, side by side.

Real RTE training batches (MTDNN_DATA, default ../shared/data) and the MiniLM encoder. Each
batch is timed under every mode in turn, in a rotating order, over several repeats, so that
machine load hits all modes alike; the ratio to plain training is taken per repeat and reported
as median and range. A step is forward, backward and optimiser step (lr 0, so every mode times
the same weights).

Modes:
- plain: the model's loss, `loss.backward()`.
- adversarial_k1 (add k with --ks 1 2): the `adversarial_training` callback as the trainer runs it.
- r3f: the same callback with `method: "r3f"` (random noise, no ascent step; paper defaults).
- naive_k1: SMART without reuse, for comparison: a noise pass whose backward also computes the
  parameter gradients (thrown away), and separate backward passes for clean and adversarial.

    python benchmarks/adversarial_step_time.py            # 12 batches x 3 repeats, k = 1
    python benchmarks/adversarial_step_time.py --quick    # 6 batches x 2 repeats
"""

import argparse
import json
import os
import statistics
import sys
import time
from itertools import islice
from pathlib import Path
from typing import Callable, Dict, List

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from allennlp.common import Params  # noqa: E402
from allennlp.common.util import import_module_and_submodules  # noqa: E402
from allennlp.data import DataLoader, DatasetReader, Vocabulary  # noqa: E402
from allennlp.models import Model  # noqa: E402

from benchmarks import common  # noqa: E402
from mtdnn_allennlp.compat import allennlp_internals  # noqa: E402
from mtdnn_allennlp.compat.adamw import fused_kwargs  # noqa: E402
from mtdnn_allennlp.training.adversarial import (  # noqa: E402
    AdversarialTrainingCallback,
    initial_noise,
    normalize,
    project,
)

RESULTS = ROOT / "benchmarks" / "results" / "adversarial_step_time.json"


def default_data() -> str:
    for candidate in (Path("/work/shared/data"), ROOT.parent / "shared" / "data"):
        if (candidate / "glue" / "RTE" / "train.tsv").exists():
            return str(candidate)
    raise SystemExit("No real RTE data found: set MTDNN_DATA to the shared data folder.")


def build(args):
    os.environ.setdefault("MTDNN_DATA", default_data())
    os.environ["MTDNN_ENCODER"] = args.encoder
    os.environ["MTDNN_SMOKE"] = "0"
    os.environ["MTDNN_TRAIN_EXAMPLES"] = "0"
    import_module_and_submodules("mtdnn_allennlp")
    config = Params.from_file(str(ROOT / "training_config/glue/rte.jsonnet")).as_dict(quiet=True)
    config["data_loader"]["batch_size"] = args.batch_size
    reader = DatasetReader.from_params(Params(config["dataset_reader"]))
    loader = DataLoader.from_params(
        Params(config["data_loader"]), reader=reader, data_path=config["train_data_path"]
    )
    vocab = Vocabulary.empty()
    loader.index_with(vocab)
    batches = list(islice(iter(loader), args.batches))
    model = Model.from_params(vocab=vocab, params=Params(config["model"]))
    return model, batches


def mode_names(ks: List[int]) -> List[str]:
    """The modes make_modes builds, in its order."""
    return ["plain", *(f"adversarial_k{k}" for k in ks), "r3f", "naive_k1"]


def make_modes(model, ks: List[int]) -> Dict[str, Callable]:
    parameters = list(model.parameters())
    # The package's optimizer: torch's fused AdamW kernel, as `huggingface_adamw` picks it.
    optimizer = torch.optim.AdamW(parameters, lr=0.0, **fused_kwargs(parameters))
    trainer = allennlp_internals.trainer_stand_in(model, data_loader=[None])

    # The modes share one model: each step sets what its callback's on_start would (whether
    # forward exposes the adversarial inputs, and R3F's stacked noisy copy).
    def plain(batch):
        model.expose_adversarial_inputs = False
        model.noisy_copy = None
        optimizer.zero_grad()
        model(**batch)["loss"].backward()
        optimizer.step()

    def adversarial(k, method="smart"):
        callback = AdversarialTrainingCallback("unused", method=method, adv_k=k)
        callback.on_start(trainer)
        noisy_copy = model.noisy_copy

        def step(batch):
            model.expose_adversarial_inputs = True
            model.noisy_copy = noisy_copy
            optimizer.zero_grad()
            callback.on_backward(trainer, model(**batch), backward_called=False)
            optimizer.step()

        return step

    naive_callback = AdversarialTrainingCallback("unused", adv_k=1)
    naive_callback.on_start(trainer)

    def naive(batch):
        model.expose_adversarial_inputs = True
        model.noisy_copy = None
        optimizer.zero_grad()
        outputs = model(**batch)
        outputs["loss"].backward(retain_graph=True)
        inputs = outputs["adversarial_inputs"]
        name, mask, type_ids = inputs["task"], inputs["mask"], inputs.get("type_ids")
        target = inputs["logits"].detach()
        compare = naive_callback.divergence(name, mask)

        def logits_from(embeddings):
            return model.perturbed_logits(name, embeddings, mask, type_ids)

        # The noise pass with a plain `backward`: parameter gradients too (saved and restored,
        # as they must not count), then the step and projection.
        base = inputs["word_embeddings"].detach()
        keep = mask.unsqueeze(-1).to(base.dtype)
        noise = initial_noise(base, mask, 1e-5).requires_grad_(True)
        saved = [p.grad.clone() if p.grad is not None else None for p in model.parameters()]
        compare(logits_from(base + noise), target).backward()
        for p, grad in zip(model.parameters(), saved, strict=True):
            p.grad = grad
        step = normalize(noise.grad * keep, "inf", "token") * 1e-3
        noise = project(noise.detach() + step, "inf", "token", 1.0) * keep
        compare(logits_from(inputs["word_embeddings"] + noise), target).backward()
        optimizer.step()

    modes = {"plain": plain}
    for k in ks:
        modes[f"adversarial_k{k}"] = adversarial(k)
    modes["r3f"] = adversarial(1, method="r3f")
    modes["naive_k1"] = naive
    assert list(modes) == mode_names(ks)
    return modes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="6 batches, 2 repeats")
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--ks", type=int, nargs="+", default=[1])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: steadier)")
    parser.add_argument("--encoder", default="all-MiniLM-L6-v2")
    parser.add_argument("--output", default=str(RESULTS))
    parser.add_argument(
        "--modes",
        nargs="+",
        default=None,
        help="time only these modes (plain is always timed: the ratios are to it), e.g. r3f",
    )
    args = parser.parse_args()
    known = mode_names(args.ks)
    if args.modes and not set(args.modes) <= set(known):
        parser.error(f"--modes: unknown {sorted(set(args.modes) - set(known))}; known: {known}")
    if args.quick:
        args.batches, args.repeats = 6, 2
    torch.set_num_threads(args.threads)
    torch.manual_seed(2018)
    load_at_start = os.getloadavg()[0]

    model, batches = build(args)
    batches = common.on_benchmark_device(model, batches)
    model.train()
    modes = make_modes(model, args.ks)
    if args.modes:
        modes = {
            name: step for name, step in modes.items() if name == "plain" or name in args.modes
        }
    names = list(modes)
    for name in names:  # warm-up: the first pass of each mode is not timed
        modes[name](batches[0])

    # seconds[mode][repeat]: time over all batches of that repeat
    seconds: Dict[str, List[float]] = {name: [0.0] * args.repeats for name in names}
    for repeat in range(args.repeats):
        for index, batch in enumerate(batches):
            shift = (index + repeat) % len(names)
            for name in names[shift:] + names[:shift]:
                start = time.perf_counter()
                modes[name](batch)
                seconds[name][repeat] += time.perf_counter() - start
        print(f"repeat {repeat + 1}/{args.repeats} done", file=sys.stderr)

    steps = len(batches)
    rows = []
    for name in names:
        ratios = [s / p for s, p in zip(seconds[name], seconds["plain"], strict=True)]
        rows.append(
            {
                "mode": name,
                "ms_per_step_median": 1000 * statistics.median(seconds[name]) / steps,
                "ratio_to_plain_median": statistics.median(ratios),
                "ratio_to_plain_min": min(ratios),
                "ratio_to_plain_max": max(ratios),
                "ratio_to_plain_per_repeat": ratios,
            }
        )
    lengths = [int(b["tokens"]["tokens"]["token_ids"].shape[1]) for b in batches]
    result = {
        "command": "python " + " ".join([sys.argv[0], *sys.argv[1:]]),
        "encoder": args.encoder,
        "task": "rte (train split, real data)",
        "batch_size": args.batch_size,
        "batches": steps,
        "batch_lengths_mean": statistics.mean(lengths),
        "repeats": args.repeats,
        "torch_threads": args.threads,
        "cpu_count": os.cpu_count(),
        "load_average_at_start": load_at_start,
        "load_average_at_end": os.getloadavg()[0],
        "torch": torch.__version__,
        "rows": rows,
    }
    print(f"\n{'mode':<16} {'ms/step':>9} {'x plain (median)':>17} {'range':>15}")
    for row in rows:
        spread = f"{row['ratio_to_plain_min']:.2f}-{row['ratio_to_plain_max']:.2f}"
        print(
            f"{row['mode']:<16} {row['ms_per_step_median']:>9.1f} "
            f"{row['ratio_to_plain_median']:>17.2f} {spread:>15}"
        )
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten to {output}")


if __name__ == "__main__":
    main()
