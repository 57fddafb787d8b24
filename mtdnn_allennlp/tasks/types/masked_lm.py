"""Masked language modelling (pre-training, or an auxiliary task): the targets are the masked
word pieces themselves, drawn anew for every batch (docs/pretraining_and_qa.md). So there is no
fixed example for a teacher's output to be kept for: no soft targets."""

from mtdnn_allennlp.losses import IGNORE_INDEX
from mtdnn_allennlp.tasks.types.base import (
    DataFormat,
    ExampleMetadata,
    TaskType,
    register_data_format,
)


class TextMetadata(ExampleMetadata, total=False):
    text: str


class TextFormat(DataFormat):
    name = "text"
    input_fields = ("text",)
    reader_hint = "mtdnn_masked_lm_text"


register_data_format(TextFormat())


@TaskType.register("masked_lm")
class MaskedLm(TaskType):
    loss = "sequence_cross_entropy"
    kd_loss = "kl_divergence"
    adv_loss = "symmetric_kl"
    head = "masked_lm"
    metrics = ("accuracy",)
    data_formats = ("text",)
    hf_refusal = "export the encoder with `allennlp export-encoder` instead"

    def prepare_inputs(self, head, token_ids, mask, label):
        # Masked LM makes its inputs and targets from the text, anew for every batch.
        return head.corrupt(token_ids, mask)

    def scores_chosen_pieces_only(self) -> bool:
        # Only the masked pieces (15%) are scored: the projection onto the whole vocabulary at
        # every position cost about 7x more, for logits the loss then ignored.
        return True

    def update_metrics(self, task, head, metrics, logits, label, metadata) -> None:
        chosen = label != IGNORE_INDEX
        metrics.add(logits.argmax(-1)[chosen].tolist(), label[chosen].tolist())

    def readable(self, task, head, logits, metadata):
        return {}  # the pieces are drawn at random: nothing to show beyond the task and id
