from mtdnn_allennlp.models.heads.masked_lm import MaskedLmHead
from mtdnn_allennlp.models.heads.san import SanHead
from mtdnn_allennlp.models.heads.span_extraction import SpanExtractionHead
from mtdnn_allennlp.models.heads.task_head import (
    ClassificationHead,
    RankingHead,
    RegressionHead,
    SequenceLabelingHead,
    TaskHead,
)

__all__ = [
    "ClassificationHead",
    "MaskedLmHead",
    "RankingHead",
    "RegressionHead",
    "SanHead",
    "SequenceLabelingHead",
    "SpanExtractionHead",
    "TaskHead",
]
