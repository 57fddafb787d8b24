from mtdnn_allennlp.predictors.multitask_predictor import MultiTaskPredictor

__all__ = ["MultiTaskPredictor"]
