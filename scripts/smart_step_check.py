"""SMART's perturbation checked by hand on real batches: does a larger ascent step raise the
adversarial loss, and does the ascent direction raise it more than a random one of the same size?

    python scripts/smart_step_check.py results/mtl_full/rte/seed1/model.tar.gz \\
        --data ../shared/data/glue/RTE/train.tsv --batches 8 \\
        --output docs/results/smart_step_check.json

For each of the first `--batches` batches of 16 training examples (file order), with the trained
model in eval mode (no dropout, so that every difference below comes from the noise):
1. the clean logits, the target the adversarial loss compares against;
2. for each step size: SMART's noise after one ascent step from the same initial noise (MT-DNN's
   defaults otherwise: noise variance 1e-5, the per-token L-inf norm, epsilon 1), and the task's
   adversarial loss (RTE: symmetric KL) between the perturbed and the clean logits, both made by
   the training callback itself (`smart_noise`, `perturbed_loss`);
3. a control: random noise with exactly the per-token L-inf norms of that ascent noise.

The paper's claim checked: the loss grows with the step, and the ascent noise gives a larger loss
than random noise of the same size (it finds a direction the model is sensitive to).
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

import torch
from allennlp.common.util import import_module_and_submodules
from allennlp.data import Batch
from allennlp.models.archival import load_archive

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import_module_and_submodules("mtdnn_allennlp")

from mtdnn_allennlp.training.adversarial import AdversarialTrainingCallback, norm_of  # noqa: E402

STEP_SIZES = [0.0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]


def random_like(noise: torch.Tensor, mask: torch.Tensor, generator: torch.Generator):
    """Random directions with the per-token L-inf norms of `noise` (zero where it is zero)."""
    direction = torch.randn(noise.shape, generator=generator, dtype=noise.dtype)
    direction = direction / direction.abs().amax(dim=-1, keepdim=True)
    sizes = noise.abs().amax(dim=-1, keepdim=True)
    return direction * sizes * mask.unsqueeze(-1).to(noise.dtype)


def _callbacks(model, directory: str) -> Dict[float, AdversarialTrainingCallback]:
    """The training callback itself, once per step size (MT-DNN's defaults otherwise), ready to
    perturb `model`'s batches."""
    callbacks = {}
    for step in STEP_SIZES:
        callback = AdversarialTrainingCallback(directory, adv_step_size=step)
        callback.divergences = callback.build_divergences(model)
        callbacks[step] = callback
    return callbacks


def check(archive_file: str, data: str, batches: int, batch_size: int = 16) -> Dict:
    archive = load_archive(archive_file)
    model, reader = archive.model, archive.validation_dataset_reader
    model.eval()
    task = next(iter(model.tasks))
    instances = []
    for instance in reader.read_task(task, data):
        instances.append(instance)
        if len(instances) == batches * batch_size:
            break
    per_step: Dict[float, Dict[str, List[float]]] = {
        step: {"ascent": [], "random": [], "noise_norm": []} for step in STEP_SIZES
    }
    with tempfile.TemporaryDirectory() as directory:
        callbacks = _callbacks(model, directory)
    for number, start in enumerate(range(0, len(instances), batch_size)):
        batch = Batch(instances[start : start + batch_size])
        batch.index_instances(model.vocab)
        pieces = batch.as_tensor_dict()["tokens"]["tokens"]
        mask, type_ids = pieces["mask"], pieces.get("type_ids")
        with torch.no_grad():
            embeddings = model.encoder.embed_words(pieces["token_ids"])
            logits = model.perturbed_logits(task, embeddings, mask, type_ids)
        # What the model's forward hands the callback during training.
        inputs = {"task": task, "mask": mask, "type_ids": type_ids}
        inputs.update(word_embeddings=embeddings, logits=logits)
        for step, callback in callbacks.items():
            # The same initial noise for every step size: only the step differs.
            noise = callback.smart_noise(
                model, inputs, torch.Generator().manual_seed(1000 + number)
            )
            control = random_like(noise, mask, torch.Generator().manual_seed(2000 + number))
            with torch.no_grad():
                per_step[step]["ascent"].append(callback.perturbed_loss(model, inputs, noise))
                per_step[step]["random"].append(callback.perturbed_loss(model, inputs, control))
            per_step[step]["noise_norm"].append(norm_of(noise, "inf", "token").max().item())
    defaults = callbacks[STEP_SIZES[0]]
    rows = []
    for step, values in per_step.items():
        ascent = [float(each) for each in values["ascent"]]
        random = [float(each) for each in values["random"]]
        rows.append(
            {
                "step_size": step,
                "adv_loss_mean": statistics.mean(ascent),
                "random_same_norm_loss_mean": statistics.mean(random),
                "batches_where_ascent_beats_random": sum(
                    a > r for a, r in zip(ascent, random, strict=True)
                ),
                "max_token_noise_norm": max(values["noise_norm"]),
                "adv_loss_per_batch": ascent,
            }
        )
    return {
        "archive": archive_file,
        "task": task,
        "data": data,
        "batches": len(per_step[STEP_SIZES[0]]["ascent"]),
        "batch_size": batch_size,
        "settings": {
            "noise_var": defaults.adv_noise_var,
            "norm": defaults.adv_norm,
            "level": defaults.adv_norm_level,
            "epsilon": defaults.adv_epsilon,
            "k": defaults.adv_k,
            "mode": "eval (no dropout)",
        },
        "torch_threads": torch.get_num_threads(),
        "load_average_at_start": os.getloadavg()[0],
        "rows": rows,
    }


def table(result: Dict) -> str:
    lines = [
        "| step size | adversarial loss (mean) | random noise, same norms | ascent > random "
        "| largest token noise (L-inf) |",
        "|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['step_size']:g} | {row['adv_loss_mean']:.3g} | "
            f"{row['random_same_norm_loss_mean']:.3g} | "
            f"{row['batches_where_ascent_beats_random']}/{result['batches']} | "
            f"{row['max_token_noise_norm']:.3g} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", help="a trained single-task model (model.tar.gz)")
    parser.add_argument("--data", required=True, help="the task's training file")
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--output", help="write the result as JSON here")
    args = parser.parse_args()
    torch.manual_seed(0)
    result = check(args.archive, args.data, args.batches)
    print(table(result))
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
