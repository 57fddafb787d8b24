from mtdnn_allennlp.models.heads.san import SanHead
from mtdnn_allennlp.models.heads.task_head import (
    ClassificationHead,
    RankingHead,
    RegressionHead,
    SequenceLabelingHead,
    TaskHead,
)

__all__ = [
    "ClassificationHead",
    "RankingHead",
    "RegressionHead",
    "SanHead",
    "SequenceLabelingHead",
    "TaskHead",
]
