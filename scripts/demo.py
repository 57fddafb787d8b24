"""`make demo`: train SST-2 and STS-B together with MiniLM, compare with baselines, predict,
and write the run's report.

Runs the stock allennlp CLI, exactly as a user would:
    allennlp train training_config/demo_learning.jsonnet -s OUTPUT --include-package mtdnn_allennlp
    allennlp predict OUTPUT/model.tar.gz fixtures/demo/examples.jsonl --output-file ...
    allennlp mtdnn-report OUTPUT
"""

import argparse
import csv
import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parents[1]
# SST-2's label values and the task's names for them (the task's label_map).
SST2_LABELS = {"0": "negative", "1": "positive"}
# Each demo task's dev file, label column and metric: the baseline it is compared with.
DEV_FILES = {
    "sst2": ("fixtures/demo/SST-2/dev.tsv", "label", "accuracy"),
    "stsb": ("fixtures/demo/STS-B/dev.tsv", "score", "pearson"),
}


def allennlp(*args: str) -> None:
    command = [
        str(Path(sys.executable).parent / "allennlp"),
        *args,
        "--include-package",
        "mtdnn_allennlp",
    ]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, cwd=ROOT, check=True)


def dev_labels(path: str, column: str) -> List[str]:
    with open(ROOT / path, encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [row[column] for row in rows]


def baselines() -> Dict[str, str]:
    """What a model that learned nothing scores on each dev set: the majority class's accuracy
    for SST-2; for STS-B a constant score, which has no correlation with the gold (Pearson 0)."""
    labels = dev_labels(*DEV_FILES["sst2"][:2])
    label, count = Counter(labels).most_common(1)[0]
    return {
        "sst2": f"{count / len(labels):.3f} (always '{SST2_LABELS[label]}')",
        "stsb": "0.000 (a constant score)",
    }


def print_scores(metrics: Dict[str, float]) -> None:
    print("\nDev scores (best epoch) next to the baselines:")
    print(f"  {'task':6} {'metric':9} {'model':>7}   baseline")
    for task, baseline in baselines().items():
        metric = DEV_FILES[task][2]
        value = metrics[f"best_validation_{task}_{metric}"]
        print(f"  {task:6} {metric:9} {value:7.3f}   {baseline}")


def print_predictions(inputs: Path, predictions: Path) -> None:
    print("\nPredictions on the shown examples (not in the training data):")
    examples = [json.loads(line) for line in inputs.read_text().splitlines() if line.strip()]
    outputs = [json.loads(line) for line in predictions.read_text().splitlines() if line.strip()]
    for example, output in zip(examples, outputs, strict=True):
        if "probabilities" in output:
            confidence = output["probabilities"][output["label"]]
            print(
                f"  {example['premise']!r}\n    -> {output['label']} (p={confidence:.2f}; "
                f"expected {example['expected']})"
            )
        else:
            print(
                f"  {example['premise']!r} / {example['hypothesis']!r}\n    -> similarity "
                f"{output['score']:.2f} of 5 (a person would say about {example['expected']})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("output/demo"))
    parser.add_argument("--config", default="training_config/demo_learning.jsonnet")
    parser.add_argument("--inputs", default="fixtures/demo/examples.jsonl")
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
    allennlp("mtdnn-report", str(output))
    print(f"\nDemo finished in {time.time() - start:.0f} s.")
    print_scores(json.loads((output / "metrics.json").read_text()))
    print_predictions(ROOT / args.inputs, predictions)
    print(f"\n  model archive : {output / 'model.tar.gz'}")
    print(f"  metrics       : {output / 'metrics.json'}")
    print(f"  predictions   : {predictions}")
    print(f"  tensorboard   : tensorboard --logdir {output}")
    print(f"  report        : {output / 'report' / 'report.md'}")


if __name__ == "__main__":
    main()
