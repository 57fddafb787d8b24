"""`make demo`: train the demo config with the real MiniLM encoder, then predict with it.

Runs the stock allennlp CLI, exactly as a user would:
    allennlp train training_config/demo.jsonnet -s OUTPUT --include-package mtdnn_allennlp
    allennlp predict OUTPUT/model.tar.gz fixtures/demo/inputs.jsonl --output-file ...
"""

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def allennlp(*args: str) -> None:
    command = [
        str(Path(sys.executable).parent / "allennlp"),
        *args,
        "--include-package",
        "mtdnn_allennlp",
    ]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, cwd=ROOT, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("output/demo"))
    parser.add_argument("--config", default="training_config/demo.jsonnet")
    parser.add_argument("--inputs", default="fixtures/demo/inputs.jsonl")
    args = parser.parse_args()
    output = (ROOT / args.output).resolve()
    if output.exists():
        shutil.rmtree(output)  # a demo starts clean; real runs use -s with a new folder
    start = time.time()
    allennlp("train", args.config, "-s", str(output))
    predictions = output / "predictions.jsonl"
    allennlp(
        "predict",
        str(output / "model.tar.gz"),
        args.inputs,
        "--output-file",
        str(predictions),
        "--silent",
    )
    print(f"\nDemo finished in {time.time() - start:.0f} s.")
    print(f"  model archive : {output / 'model.tar.gz'}")
    print(f"  metrics       : {output / 'metrics.json'}")
    print(f"  predictions   : {predictions}")
    print(f"  tensorboard   : tensorboard --logdir {output}")
    print("\nPredictions:")
    print(predictions.read_text())


if __name__ == "__main__":
    main()
