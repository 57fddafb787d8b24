"""Classification: one label of a fixed set per text or text pair (softmax, cross-entropy).

Also home of the two text data formats that classification, regression and multi-label
classification share: `premise_only` and `premise_and_one_hypothesis`.
"""

from typing import Any, Dict, List, Optional

from allennlp.data import Instance

from mtdnn_allennlp.tasks.types.base import (
    DataFormat,
    ExampleMetadata,
    SoftTargetForm,
    TaskType,
    check_probability_rows,
    log_probabilities,
    mean_vectors,
    probabilities_of,
    register_data_format,
    register_soft_target_form,
)


class PairMetadata(ExampleMetadata, total=False):
    premise: str
    hypothesis: Optional[str]


class TextPairFormat(DataFormat):
    """One text (`premise_only`) or a text pair; the target is the `label` key, made into a
    field by the task type (`TaskType.label_field`)."""

    target_field = "label"

    def __init__(self, name: str, input_fields) -> None:
        self.name = name
        self.input_fields = tuple(input_fields)

    def build(self, reader, inputs, target, metadata) -> Instance:
        premise = reader._checked_text(inputs.get("premise"), "premise")
        hypothesis = inputs.get("hypothesis")
        if "hypothesis" in self.input_fields:
            hypothesis = reader._checked_text(hypothesis, "hypothesis")
        encoded = reader.pieces.encode_texts(premise, hypothesis)
        metadata.update(PairMetadata(premise=premise, hypothesis=hypothesis))
        fields = {}
        if target is not None:
            fields["label"] = reader.task.kind.label_field(reader, target)
        return reader._finish_instance(fields, encoded, metadata)

    def request_pieces(self, reader, example) -> None:
        hypothesis = example.get("hypothesis") if "hypothesis" in self.input_fields else None
        reader.pieces.request_texts(example.get("premise"), hypothesis)


PREMISE_ONLY = register_data_format(TextPairFormat("premise_only", ["premise"]))
PREMISE_AND_ONE_HYPOTHESIS = register_data_format(
    TextPairFormat("premise_and_one_hypothesis", ["premise", "hypothesis"])
)


class VectorForm(SoftTargetForm):
    """`{"probabilities": [p, ...]}`: one probability per class (or candidate, or label);
    teachers are averaged element-wise."""

    name = "probabilities"

    def holds(self, record):
        probabilities = record.get("probabilities")
        if not isinstance(probabilities, list) or "start" in record:
            return False
        return not probabilities or not isinstance(probabilities[0], (list, type(None)))

    def average(self, rows):
        merged = {"task": rows[0]["task"], "id": rows[0]["id"]}
        merged["probabilities"] = mean_vectors([row["probabilities"] for row in rows])
        return merged


VECTOR_FORM = register_soft_target_form(VectorForm())


@TaskType.register("classification")
class Classification(TaskType):
    loss = "cross_entropy"
    kd_loss = "kl_divergence"
    adv_loss = "symmetric_kl"
    head = "classification"
    metrics = ("accuracy",)
    data_formats = ("premise_only", "premise_and_one_hypothesis")
    has_labels = True
    soft_target_form = VECTOR_FORM

    def update_metrics(self, task, head, metrics, logits, label, metadata) -> None:
        probabilities = logits.softmax(-1)
        metrics.add(
            probabilities.argmax(-1).tolist(),
            label.tolist(),
            probabilities[:, -1].tolist(),  # the last label's probability, for AUC
        )

    def readable(self, task, head, logits, metadata) -> Dict[str, List[Any]]:
        probabilities = logits.softmax(-1)
        labels = task.labels or []
        return {
            "label": [labels[i] for i in probabilities.argmax(-1).tolist()],
            "probabilities": [
                dict(zip(labels, [round(p, 6) for p in row], strict=True))
                for row in probabilities.tolist()
            ],
        }

    def soft_record(self, task, logits, metadata, candidates):
        return {"probabilities": logits.softmax(-1).tolist()}

    def check_soft_record(self, task, record, fail) -> None:
        check_probability_rows(task, [probabilities_of(task, record, fail)], fail)

    def soft_target(self, task, record, metadata, length, mismatch):
        return log_probabilities(record["probabilities"]), None

    def onnx_heads(self):
        from mtdnn_allennlp.models.heads.task_head import ClassificationHead

        return (ClassificationHead,)
