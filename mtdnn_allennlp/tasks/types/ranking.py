"""Ranking (MT-DNN's pairwise ranking, QNLI as ranking) and multiple choice: one premise, several
candidates, the label the index of the right one. Each (premise, candidate) pair gets one score;
softmax across them. Multiple choice (SWAG, ARC, COPA, cloze) is the same model over (context,
choice) pairs (docs/multiple_choice.md)."""

from typing import Any, Dict, List, Optional

from allennlp.data import Instance

from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.losses import MASKED_SCORE
from mtdnn_allennlp.tasks.types.base import (
    DataFormat,
    ExampleMetadata,
    TaskType,
    check_probabilities,
    log_probabilities,
    probabilities_of,
    register_data_format,
)
from mtdnn_allennlp.tasks.types.classification import VECTOR_FORM


class CandidatesMetadata(ExampleMetadata, total=False):
    premise: str
    hypotheses: List[str]
    label: int  # the right candidate's index, when known
    # multiple choice instead of premise and hypotheses:
    context: Optional[str]
    question: Optional[str]
    choices: List[str]


class MultiHypothesisFormat(DataFormat):
    """`{"premise": ..., "hypotheses": [...], "label": index}`: one instance per premise,
    `tokens` a ListField holding one (premise, hypothesis) WordPiecesField per candidate, so a batch
    pads to (batch, candidates, pieces) and the model encodes every pair with the shared
    encoder; `label` is the right candidate's index."""

    name = "premise_and_multi_hypothesis"
    input_fields = ("premise", "hypotheses")
    target_field = "label"

    def build(self, reader, inputs, target, metadata) -> Instance:
        premise = reader._checked_text(inputs.get("premise"), "premise")
        hypotheses = inputs.get("hypotheses")
        if not isinstance(hypotheses, (list, tuple)) or len(hypotheses) < 2:
            count = len(hypotheses) if isinstance(hypotheses, (list, tuple)) else 0
            raise DataError(
                f"{count} candidate hypotheses; ranking needs at least 2.",
                field="hypotheses",
                fix="give a list of two or more hypotheses (the right one among them)",
            )
        hypotheses = [reader._checked_text(text, "hypotheses") for text in hypotheses]
        pairs = []
        truncated = False
        for hypothesis in hypotheses:
            encoded = reader.pieces.encode_texts(premise, hypothesis)
            truncated = truncated or encoded.truncated
            pairs.append(reader.pieces_field(encoded.ids, encoded.type_ids))
        reader.truncated += truncated  # once per example, as the count's log line says
        if truncated:
            metadata["truncated"] = True
        metadata.update(CandidatesMetadata(premise=premise, hypotheses=hypotheses))
        index = None if target is None else candidate_index(target, len(hypotheses))
        return reader._candidates_instance(pairs, metadata, index)

    def request_pieces(self, reader, example) -> None:
        hypotheses = example.get("hypotheses")
        if isinstance(hypotheses, (list, tuple)):
            for hypothesis in hypotheses:
                reader.pieces.request_texts(example.get("premise"), hypothesis)


def candidate_index(label: Any, count: int) -> int:
    fix = "the label of a ranking example is the 0-based index of the right hypothesis"
    try:
        index = int(str(label).strip())
    except ValueError:
        raise DataError(
            f"label '{label}' is not a candidate index.", field="label", fix=fix
        ) from None
    if not 0 <= index < count:
        raise DataError(
            f"label {index} is out of range for {count} hypotheses.",
            field="label",
            fix=f"{fix}: 0 to {count - 1} here",
        )
    return index


class MultipleChoiceFormat(DataFormat):
    """`{"context": ..., "question": ..., "choices": [...], "label": index or text}`: built
    like ranking, one (context, choice) pair per choice
    (`data/dataset_readers/multiple_choice.py`)."""

    name = "multiple_choice"
    input_fields = ("choices",)
    # A context, a question, or both, before the choices.
    optional_fields = ("context", "question")
    target_field = "label"

    def build(self, reader, inputs, target, metadata) -> Instance:
        from mtdnn_allennlp.data.dataset_readers.multiple_choice import choice_instance

        return choice_instance(
            reader,
            inputs.get("context"),
            inputs.get("question"),
            inputs.get("choices"),
            target,
            metadata,
        )

    def request_pieces(self, reader, example) -> None:
        from mtdnn_allennlp.data.dataset_readers.multiple_choice import choice_pairs

        for first, second in choice_pairs(reader, example):
            reader.pieces.request_texts(first, second)


register_data_format(MultiHypothesisFormat())
register_data_format(MultipleChoiceFormat())


@TaskType.register("ranking")
class Ranking(TaskType):
    loss = "ranking_cross_entropy"
    kd_loss = "kl_divergence"
    adv_loss = "symmetric_kl"
    head = "ranking"
    metrics = ("accuracy",)
    data_formats = ("premise_and_multi_hypothesis", "multiple_choice")
    # The softmax across an example's candidates, in their order (as many as it has).
    soft_target_form = VECTOR_FORM
    soft_target_padding = MASKED_SCORE

    def update_metrics(self, task, head, metrics, logits, label, metadata) -> None:
        # The score kept per example is the right candidate's reciprocal rank (for MRR).
        right = logits.gather(1, label.long().unsqueeze(1))
        ranks = (logits > right).sum(1) + 1
        metrics.add(logits.argmax(-1).tolist(), label.tolist(), (1.0 / ranks.float()).tolist())

    def readable(self, task, head, logits, metadata) -> Dict[str, List[Any]]:
        probabilities = logits.softmax(-1).tolist()
        best = logits.argmax(-1).tolist()
        hypotheses = [each.get("hypotheses") or each.get("choices") or [] for each in metadata]
        chosen = [
            texts[index] if index < len(texts) else None
            for texts, index in zip(hypotheses, best, strict=True)
        ]
        # One probability per real candidate (a batch pads to its longest list).
        scores = [
            [round(p, 6) for p in row[: len(texts) or len(row)]]
            for row, texts in zip(probabilities, hypotheses, strict=True)
        ]
        if task.data_format == "multiple_choice":
            # Named for what they are: the chosen answer and each choice's probability.
            return {"label": best, "answer": chosen, "probabilities": scores}
        return {"label": best, "hypothesis": chosen, "scores": scores}

    def batch_candidates(self, tensors):
        return tensors["tokens"]["tokens"]["mask"].bool().any(-1).cpu()

    def soft_record(self, task, logits, metadata, candidates):
        present = logits if candidates is None else logits[candidates.bool()]
        return {"probabilities": present.softmax(-1).tolist()}

    def check_soft_record(self, task, record, fail) -> None:
        # As many as the example has candidates: see soft_target.
        check_probabilities(probabilities_of(task, record, fail), "probabilities", fail)

    def soft_target(self, task, record, metadata, length, mismatch):
        if len(record["probabilities"]) != length:
            raise mismatch(len(record["probabilities"]), length, "candidates", "probabilities")
        return log_probabilities(record["probabilities"]), None

    def onnx_heads(self):
        from mtdnn_allennlp.models.heads.task_head import RankingHead

        return (RankingHead,)

    def onnx_output(self, head, encoded, mask):
        # A ranking task's rows are (premise, candidate) pairs: the graph gives each its score,
        # and predict_onnx.py groups an example's candidates and takes the softmax across them.
        return head.pair_scores(encoded)
