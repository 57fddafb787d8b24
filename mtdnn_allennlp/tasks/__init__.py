from mtdnn_allennlp.tasks.task_definition import TaskDefinition
from mtdnn_allennlp.tasks.types import TaskType

__all__ = ["TaskDefinition", "TaskType"]
