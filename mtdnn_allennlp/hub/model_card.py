"""The model card (README.md) of an exported task: what it does, its labels, its training data,
its configuration and its dev metrics, written with `huggingface_hub.ModelCard`."""

import json
from pathlib import Path
from typing import Any, Dict, Optional

from huggingface_hub import ModelCard, ModelCardData

from mtdnn_allennlp.common.run_metrics import prefixed_values


def card_values_from_run(archive_file: str, config: Dict[str, Any], task_name: str) -> Dict:
    """What the card reports about a run: its archive, the task's data paths from the config
    and its dev metrics from the metrics.json beside the archive (if there is one)."""
    metrics_file = Path(archive_file).with_name("metrics.json")
    metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
    return {
        "archive": str(archive_file),
        "train_data": _task_path(config.get("train_data_path"), task_name),
        "validation_data": _task_path(config.get("validation_data_path"), task_name),
        "metrics": task_metrics(metrics, task_name),
        "metrics_file": str(metrics_file) if metrics else None,
        "trainer": {
            key: config.get("trainer", {}).get(key)
            for key in ("num_epochs", "optimizer", "learning_rate_scheduler")
        },
        "encoder": config.get("model", {}).get("encoder"),
    }


def _task_path(paths: Any, task_name: str) -> Optional[str]:
    if isinstance(paths, dict):
        paths = paths.get(task_name)
    if isinstance(paths, dict):  # a data-file object: {"path": ..., "sample": ...}
        return paths.get("path")
    return paths


def task_metrics(metrics: Dict[str, Any], task_name: str) -> Dict[str, float]:
    """The best epoch's dev metrics of one task (allennlp's `best_validation_<task>_<name>`),
    or the last epoch's when the run kept no best."""
    found: Dict[str, float] = {}
    for prefix in (f"validation_{task_name}_", f"best_validation_{task_name}_"):
        found.update(prefixed_values(metrics, prefix))
    return found


def model_card(task, mapping, values: Dict[str, Any]) -> ModelCard:
    data = ModelCardData(
        library_name="transformers",
        pipeline_tag=mapping.pipeline_tag,
        tags=["mtdnn_allennlp", "mt-dnn", task.task_type],
    )
    metrics = values.get("metrics") or {}
    metric_rows = "\n".join(f"| {name} | {value:.4f} |" for name, value in sorted(metrics.items()))
    metrics_text = (
        f"Dev metrics (from `{values.get('metrics_file')}`):\n\n| metric | value |\n| --- | --- |\n"
        f"{metric_rows}"
        if metrics
        else "No metrics.json was found beside the archive: no dev metrics are reported."
    )
    labels = task.labels or "none (one output)"
    definition = {
        "name": task.name,
        "task_type": task.task_type,
        "data_format": task.data_format,
        "labels": task.labels,
        "metrics": task.metrics,
        "loss": task.loss,
        "head": task.head,
        "reader": task.reader,
    }
    run = {key: values.get(key) for key in ("encoder", "trainer")}
    body = f"""
# {task.name} ({task.task_type})

Task `{task.name}` of a multi-task [MT-DNN](https://arxiv.org/abs/1901.11504) model trained with
`mtdnn_allennlp`, exported with `allennlp export-hf` as a plain transformers
`{mapping.auto_class.__name__}`: no code of mtdnn_allennlp is needed to run it.

- task type: `{task.task_type}`, data format: `{task.data_format}`
- labels: {labels}
- training data: `{values.get("train_data")}`
- dev data: `{values.get("validation_data")}`
- exported from: `{values.get("archive")}`

## Use

```python
from transformers import pipeline
{mapping.usage.replace("FOLDER", "folder")}
```

## Dev metrics

{metrics_text}

## Configuration

The task definition:

```json
{json.dumps(definition, indent=2, default=str)}
```

The encoder and trainer of the run:

```json
{json.dumps(run, indent=2, default=str)}
```
"""
    return ModelCard(f"---\n{data.to_yaml()}\n---\n{body}")
