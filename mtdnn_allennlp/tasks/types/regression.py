"""Regression: one score per text or text pair (mean squared error)."""

import math
from typing import Any, Dict, List

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.data.fields import TensorField

from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.tasks.types.base import SoftTargetForm, TaskType, register_soft_target_form


class ScoreForm(SoftTargetForm):
    """`{"score": s}`: the teacher's score; teachers are averaged."""

    name = "score"

    def holds(self, record):
        return "score" in record

    def average(self, rows):
        score = sum(row["score"] for row in rows) / len(rows)
        return {"task": rows[0]["task"], "id": rows[0]["id"], "score": score}


SCORE_FORM = register_soft_target_form(ScoreForm())


@TaskType.register("regression")
class Regression(TaskType):
    loss = "mse"
    kd_loss = "mse"
    adv_loss = "mse"
    head = "regression"
    metrics = ("pearson", "spearman")
    data_formats = ("premise_only", "premise_and_one_hypothesis")
    soft_target_form = SCORE_FORM

    def check_definition(self, task) -> None:
        if task.target_scale is None:
            return
        low, high = (float(value) for value in task.target_scale)
        if not high > low:
            raise ConfigurationError(
                f"Task '{task.name}': target_scale is [low, high] with high > low, not "
                f"{list(task.target_scale)}."
            )
        task.target_scale = (low, high)

    def label_field(self, reader, label):
        try:
            score = float(label)
        except (TypeError, ValueError):
            raise DataError(
                f"label '{label}' is not a number.",
                field="label",
                fix="a regression task needs a numeric score in its label column",
            ) from None
        if not math.isfinite(score):
            raise DataError(
                f"label '{label}' is not a finite number.",
                field="label",
                fix="give a finite numeric score (not nan or inf) in the label column",
            )
        return TensorField(torch.tensor(score, dtype=torch.float32))

    def gold_value(self, task, instance):
        return float(instance["label"].tensor)

    def update_metrics(self, task, head, metrics, logits, label, metadata) -> None:
        metrics.add(logits.float().tolist(), label.float().tolist())

    def readable(self, task, head, logits, metadata) -> Dict[str, List[Any]]:
        return {"score": logits.tolist()}

    def soft_record(self, task, logits, metadata, candidates):
        return {"score": float(logits)}

    def check_soft_record(self, task, record, fail) -> None:
        score = record.get("score")
        if not isinstance(score, (int, float)) or isinstance(score, bool):
            fail(f"score is {score!r}, not a number.", "score", "give the teacher's score")
        if not math.isfinite(score):
            fail(f"score is {score}.", "score", "remake the soft targets; a teacher diverged")

    def soft_target(self, task, record, metadata, length, mismatch):
        return torch.tensor(float(record["score"]), dtype=torch.float32), None

    def onnx_heads(self):
        from mtdnn_allennlp.models.heads.task_head import RegressionHead

        return (RegressionHead,)
