from mtdnn_allennlp.models.multitask_model import MultiTaskModel

__all__ = ["MultiTaskModel"]
