"""Training throughput of the demo on the CPU and on cuda:0 (fp32, fp16, bf16), as a table.

Part of scripts/gpu_check.sh (docs/gpu.md). Each variant is one `allennlp train
training_config/demo.jsonnet` (MTDNN_EPOCHS epochs, default 3, on the fixtures unless
MTDNN_DATA says otherwise); the time is allennlp's own `training_duration` (start-up and model
loading excluded), the examples are those the training reader yields per epoch. Without CUDA only
the CPU row runs. Exits non-zero when a run fails.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = "training_config/demo.jsonnet"
VARIANTS = [("cpu", "fp32"), ("0", "fp32"), ("0", "fp16"), ("0", "bf16")]


def seconds(duration: str) -> float:
    hours, minutes, rest = duration.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(rest)


def examples_per_epoch(environment) -> int:
    code = (
        "import json, sys; from allennlp.common import Params; "
        "from allennlp.common.util import import_module_and_submodules as load; "
        "from allennlp.data import DatasetReader; load('mtdnn_allennlp'); "
        f"p = Params.from_file('{CONFIG}'); "
        "r = DatasetReader.from_params(p.pop('dataset_reader')); "
        "print(sum(1 for _ in r.read(p.pop('train_data_path').as_dict())))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=environment, cwd=ROOT, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"counting the training examples failed:\n{result.stderr[-3000:]}")
    return int(result.stdout.strip().splitlines()[-1])


def main() -> int:
    import torch

    environment = {**os.environ, "MTDNN_EPOCHS": os.environ.get("MTDNN_EPOCHS", "3")}
    epochs = int(environment["MTDNN_EPOCHS"])
    examples = examples_per_epoch(environment) * epochs
    allennlp = str(Path(sys.executable).parent / "allennlp")
    rows, failures = [], 0
    for device, precision in VARIANTS:
        if device != "cpu" and not torch.cuda.is_available():
            continue
        with tempfile.TemporaryDirectory() as output:
            run = subprocess.run(
                [allennlp, "train", CONFIG, "-s", output, "--include-package", "mtdnn_allennlp"],
                env={**environment, "MTDNN_DEVICE": device, "MTDNN_PRECISION": precision},
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            if run.returncode != 0:
                print(f"{device} {precision} failed:\n{run.stderr[-3000:]}", file=sys.stderr)
                failures += 1
                continue
            metrics = json.loads((Path(output) / "metrics.json").read_text())
        rows.append(
            (
                "cpu" if device == "cpu" else f"cuda:{device}",
                precision,
                seconds(metrics["training_duration"]),
            )
        )
    print(
        f"\nDemo training, {examples // epochs} examples x {epochs} epochs "
        f"(encoder {environment.get('MTDNN_ENCODER', 'all-MiniLM-L6-v2')}):\n"
    )
    print("| device | precision | training s | examples/s | vs CPU |")
    print("| --- | --- | --- | --- | --- |")
    cpu = next((time for device, _, time in rows if device == "cpu"), None)
    for device, precision, time in rows:
        ratio = f"{cpu / time:.1f}x" if cpu else "-"
        print(f"| {device} | {precision} | {time:.1f} | {examples / time:.0f} | {ratio} |")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
