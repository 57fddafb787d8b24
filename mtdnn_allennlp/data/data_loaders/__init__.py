from mtdnn_allennlp.data.data_loaders.multitask_data_loader import MultiTaskDataLoader
from mtdnn_allennlp.data.data_loaders.samplers import TaskSampler

__all__ = ["MultiTaskDataLoader", "TaskSampler"]
