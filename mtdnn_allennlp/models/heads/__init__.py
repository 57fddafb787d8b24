from mtdnn_allennlp.models.heads.task_head import (
    ClassificationHead,
    RegressionHead,
    SequenceLabelingHead,
    TaskHead,
)

__all__ = ["ClassificationHead", "RegressionHead", "SequenceLabelingHead", "TaskHead"]
