"""Task definitions and tiny models for the distillation tests, from the task library."""

import importlib.util
import json
from copy import deepcopy
from functools import cache
from pathlib import Path
from typing import Any, Dict, List

import _jsonnet
from allennlp.common import Params
from allennlp.data import Vocabulary
from allennlp.models import Model

from mtdnn_allennlp.data.dataset_readers import MultiTaskReader
from mtdnn_allennlp.tasks import TaskDefinition

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
DATA = FIXTURES / "data"
TINY_BERT = str(FIXTURES / "tiny_bert")
TRAIN = {
    "rte": DATA / "glue/RTE/train.tsv",
    "stsb": DATA / "glue/STS-B/train.tsv",
    "conll2003": DATA / "ner/CoNLL2003/train.txt",
    "qnli_ranking": DATA / "glue/QNLI/dev.tsv",
    "squad_v1": DATA / "squad/train-v1.1.json",
}


@cache
def _library() -> str:
    return _jsonnet.evaluate_file(
        str(ROOT / "training_config" / "tasks.libsonnet"), ext_vars={"MTDNN_DATA": str(DATA)}
    )


def task_spec(name: str, **overrides: Any) -> Dict[str, Any]:
    spec = json.loads(_library())[name]
    spec.update(overrides)
    return spec


def task(name: str, **overrides: Any) -> TaskDefinition:
    return TaskDefinition.from_params(Params(task_spec(name, **overrides)))


def model(names: List[str], encoder: Dict[str, Any], **kwargs: Any) -> Model:
    params = {
        "type": "mtdnn",
        "encoder": encoder,
        "tasks": [task_spec(name) for name in names],
        **kwargs,
    }
    return Model.from_params(vocab=Vocabulary(), params=Params(deepcopy(params)))


def reader(names: List[str], **kwargs: Any) -> MultiTaskReader:
    return MultiTaskReader([task(name) for name in names], encoder=TINY_BERT, **kwargs)


ENCODERS = {
    "transformer": {"type": "transformer", "model_name": TINY_BERT},
    "transformer_student": {"type": "transformer_student", "model_name": TINY_BERT, "layers": [1]},
    "bilstm": {"type": "bilstm", "vocab_from": TINY_BERT, "lstm_size": 8},
}


def exported_predictor(folder: Path) -> Any:
    """The OnnxPredictor of an export folder, loaded from the folder's own predict_onnx.py (the
    script a user gets), not from the package."""
    spec = importlib.util.spec_from_file_location(
        "exported_predict_onnx", folder / "predict_onnx.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.OnnxPredictor(str(folder))
