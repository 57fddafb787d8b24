"""A run's report (`allennlp mtdnn-report RUN_DIR`): pictures and a markdown page in RUN_DIR/report.

- per task, its training and validation metrics over the epochs (from `metrics_epoch_*.json`);
- per task with a dev set, a picture of the archived model's dev predictions, chosen by the task
  type (`DEV_PLOTS`): a confusion matrix (classification), predicted against gold scores and the
  residuals (regression), the F1 of each entity type (sequence labelling);
- `report.md`, which shows them all.

Plots use matplotlib's Agg backend: no display is needed.
"""

import json
import logging
import re
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from allennlp.common.checks import ConfigurationError  # noqa: E402
from allennlp.common.tqdm import Tqdm  # noqa: E402

from mtdnn_allennlp.common.run_metrics import prefixed_values  # noqa: E402

logger = logging.getLogger(__name__)

EPOCH_FILE = re.compile(r"metrics_epoch_(\d+)\.json$")
DPI = 100


def epoch_metrics(run_dir: Path) -> List[Dict[str, Any]]:
    """The metrics of each completed epoch, in epoch order."""
    files = sorted(
        (int(match.group(1)), path)
        for path in run_dir.iterdir()
        if (match := EPOCH_FILE.search(path.name))
    )
    return [json.loads(path.read_text()) for _, path in files]


def task_curves(epochs: List[Dict[str, Any]], task: str) -> Dict[str, Dict[str, List[float]]]:
    """{metric: {"training": [...], "validation": [...]}} of one task, over the epochs."""
    curves: Dict[str, Dict[str, List[float]]] = {}
    for split in ("training", "validation"):
        prefix = f"{split}_{task}_"
        names = sorted(
            {key[len(prefix) :] for epoch in epochs for key in epoch if key.startswith(prefix)}
        )
        for name in names:
            values = [epoch.get(prefix + name, np.nan) for epoch in epochs]
            curves.setdefault(name, {})[split] = [float(value) for value in values]
    return curves


def plot_curves(task: str, curves: Dict[str, Dict[str, List[float]]], path: Path) -> Path:
    names = sorted(curves, key=lambda name: (name != "loss", name))
    figure, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.2), squeeze=False)
    for axis, name in zip(axes[0], names, strict=True):
        for split, values in curves[name].items():
            epochs = np.arange(len(values))
            axis.plot(epochs, values, marker="o", label=split)
        axis.set_title(f"{task}: {name}")
        axis.set_xlabel("epoch")
        axis.xaxis.get_major_locator().set_params(integer=True)
        axis.grid(alpha=0.3)
        axis.legend()
    return _save(figure, path)


def _save(figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path


# --- dev predictions, by task type ---------------------------------------------------------


def plot_confusion_matrix(task, gold: List[Any], predicted: List[Any], path: Path) -> Path:
    from sklearn.metrics import confusion_matrix

    labels = task.labels
    matrix = confusion_matrix(gold, predicted, labels=labels)
    size = max(4.0, 0.7 * len(labels) + 2.5)
    figure, axis = plt.subplots(figsize=(size, size * 0.85))
    image = axis.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axis, fraction=0.046)
    axis.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    axis.set_yticks(range(len(labels)), labels)
    axis.set_xlabel("predicted")
    axis.set_ylabel("gold")
    accuracy = float(np.trace(matrix) / max(matrix.sum(), 1))
    axis.set_title(f"{task.name}: dev confusion matrix\naccuracy {accuracy:.3f}")
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, column), count in np.ndenumerate(matrix):
        color = "white" if count > threshold else "black"
        axis.text(column, row, str(count), ha="center", va="center", color=color)
    return _save(figure, path)


def plot_residuals(task, gold: List[float], predicted: List[float], path: Path) -> Path:
    gold_array, predicted_array = np.asarray(gold), np.asarray(predicted)
    residuals = predicted_array - gold_array
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8))
    left.scatter(gold_array, predicted_array, s=12, alpha=0.7)
    low, high = float(gold_array.min()), float(gold_array.max())
    left.plot([low, high], [low, high], color="grey", linestyle="--", label="predicted = gold")
    left.set_xlabel("gold score")
    left.set_ylabel("predicted score")
    pearson = float(np.corrcoef(gold_array, predicted_array)[0, 1]) if len(gold) > 1 else np.nan
    left.set_title(f"{task.name}: dev predictions (Pearson {pearson:.3f})")
    left.legend()
    right.scatter(gold_array, residuals, s=12, alpha=0.7)
    right.axhline(0, color="grey", linestyle="--")
    right.set_xlabel("gold score")
    right.set_ylabel("predicted - gold")
    right.set_title(f"residuals (RMSE {float(np.sqrt(np.mean(residuals ** 2))):.3f})")
    return _save(figure, path)


def plot_label_f1(task, gold: List[List[str]], predicted: List[List[str]], path: Path) -> Path:
    from seqeval.metrics import classification_report

    report = classification_report(gold, predicted, output_dict=True, zero_division=0)
    types = sorted(key for key in report if not key.endswith(" avg"))
    scores = [report[key]["f1-score"] for key in types]
    support = [int(report[key]["support"]) for key in types]
    figure, axis = plt.subplots(figsize=(max(4.5, 1.1 * len(types) + 2), 3.6))
    bars = axis.bar(types, scores, color="tab:green")
    for bar, count in zip(bars, support, strict=True):
        axis.annotate(
            f"n={count}",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    axis.set_ylim(0, 1.05)
    axis.set_ylabel("F1")
    micro = report.get("micro avg", {}).get("f1-score", 0.0)
    axis.set_title(f"{task.name}: dev F1 per entity type (micro {micro:.3f})")
    return _save(figure, path)


# task type -> (what the picture shows, the output key holding the prediction, its plot)
DEV_PLOTS: Dict[str, Tuple[str, str, Callable]] = {
    "classification": ("confusion matrix", "label", plot_confusion_matrix),
    "regression": ("predictions and residuals", "score", plot_residuals),
    "sequence_labeling": ("F1 per entity type", "tags", plot_label_f1),
}


def gold_value(task, instance) -> Any:
    """The gold answer of a dev instance, in the form the model's readable output has."""
    return task.kind.gold_value(task, instance)


def dev_predictions(model, reader, task_name: str, path: str, batch_size: int = 64):
    """(gold, predicted) over a task's dev file, predicted by the archived model."""
    task = model.tasks[task_name]
    key = DEV_PLOTS[task.task_type][1]
    instances = [each for each in reader.read_task(task_name, path) if "label" in each.fields]
    gold, predicted = [], []
    starts = Tqdm.tqdm(range(0, len(instances), batch_size), desc=f"report: {task_name} dev")
    for start in starts:
        chunk = instances[start : start + batch_size]
        for instance, output in zip(chunk, model.forward_on_instances(chunk), strict=True):
            gold.append(gold_value(task, instance))
            predicted.append(output[key])
    return gold, predicted


# --- the report -----------------------------------------------------------------------------


def write_report(run_dir: str, archive: Optional[Any] = None) -> Path:
    """Writes RUN_DIR/report/ (PNGs and report.md); returns the path of report.md."""
    run = Path(run_dir)
    epochs = epoch_metrics(run) if run.is_dir() else []
    if not epochs:
        raise ConfigurationError(
            f"{run}: no metrics_epoch_*.json files; give the serialization directory of a "
            "training run (allennlp train ... -s RUN_DIR) with at least one finished epoch."
        )
    out = run / "report"
    out.mkdir(exist_ok=True)
    if archive is None and (run / "model.tar.gz").is_file():
        from allennlp.models.archival import load_archive

        archive = load_archive(str(run / "model.tar.gz"))
    tasks = _task_names(epochs, archive)
    sections = [f"# Report of {run.resolve()}\n", _summary_table(run, tasks)]
    for task in tasks:
        sections.append(f"## {task}\n")
        curves = task_curves(epochs, task)
        if curves:
            image = plot_curves(task, curves, out / f"{task}_curves.png")
            sections.append(f"Metrics over the epochs:\n\n![{task} curves]({image.name})\n")
        sections.extend(_dev_section(archive, task, out))
    report = out / "report.md"
    report.write_text("\n".join(sections))
    logger.info("report written to %s", report)
    return report


def _task_names(epochs: List[Dict[str, Any]], archive) -> List[str]:
    if archive is not None:
        return list(archive.model.tasks)
    found = {
        match.group(1) for key in epochs[-1] if (match := re.match(r"training_(.+)_loss$", key))
    }
    return sorted(found)


def _summary_table(run: Path, tasks: List[str]) -> str:
    metrics_file = run / "metrics.json"
    if not metrics_file.is_file():
        return "The run has no metrics.json (not finished): curves only.\n"
    metrics = json.loads(metrics_file.read_text())
    rows = [
        f"| {task} | {name} | {value:.4f} |"
        for task in tasks
        for name, value in sorted(prefixed_values(metrics, f"best_validation_{task}_").items())
    ]
    epoch = metrics.get("best_epoch")
    header = (
        f"Best epoch: {epoch}. Its dev metrics:\n\n| task | metric | value |\n| --- | --- | --- |"
    )
    return header + "\n" + "\n".join(rows) + "\n"


def _dev_section(archive, task: str, out: Path) -> List[str]:
    if archive is None:
        return ["(No model.tar.gz in the run: no dev predictions.)\n"]
    model = archive.model
    definition = model.tasks[task]
    dev_paths = archive.config.as_dict(quiet=True).get("validation_data_path") or {}
    path = dev_paths.get(task) if isinstance(dev_paths, dict) else None
    if definition.task_type not in DEV_PLOTS or path is None:
        return []
    what, _, plot = DEV_PLOTS[definition.task_type]
    model.eval()
    gold, predicted = dev_predictions(model, archive.validation_dataset_reader, task, path)
    if not gold:
        return [f"(The dev file {path} has no labelled examples.)\n"]
    image = plot(definition, gold, predicted, out / f"{task}_dev.png")
    return [
        f"Dev set ({len(gold)} examples, `{path}`), {what}:\n\n![{task} {what}]({image.name})\n"
    ]
