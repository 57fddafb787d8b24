from mtdnn_allennlp.tasks.task_definition import TASK_TYPES, TaskDefinition, TaskType

__all__ = ["TASK_TYPES", "TaskDefinition", "TaskType"]
