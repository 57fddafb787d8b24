"""`export-onnx --optimize --quantize int8`: the folder predicts like the float export (labels on
at least 99% of the fixture inputs, regression scores within REGRESSION_TOLERANCE), its graph is
int8, and a failure while post-processing leaves nothing behind."""

import json

import numpy as np
import onnx
import onnxruntime
import pytest
from allennlp.common.checks import ConfigurationError
from allennlp.data import Batch, Vocabulary
from allennlp.models.archival import load_archive

from mtdnn_allennlp.distillation import export as export_module
from mtdnn_allennlp.distillation.export import export_archive, export_model
from tests.conftest import ROOT, cli_env, run_allennlp
from tests.support.tiny_models import ENCODERS, exported_predictor, model, reader

pytestmark = pytest.mark.slow

# The fixture inputs every task of the demo model is compared on (train and dev files).
FILES = {"rte": "RTE", "sst2": "SST-2", "stsb": "STS-B"}
LABEL_AGREEMENT = 0.99
# STS-B scores (0-5 scale): int8 weights and per-batch uint8 activations move a score by at
# most this much on the fixtures (measured largest difference: reported by the test).
REGRESSION_TOLERANCE = 0.05


@pytest.fixture(scope="module")
def exports(trained_run, tmp_path_factory):
    """The demo model (RTE, SST-2, STS-B, tiny BERT, 2 epochs on the fixtures) exported as
    float (in-process) and optimised + int8 (through the CLI)."""
    run = trained_run("training_config/demo.jsonnet")
    folder = tmp_path_factory.mktemp("quantized")
    float_folder = export_archive(str(run / "model.tar.gz"), str(folder / "float"))
    int8_folder = folder / "int8"
    result = run_allennlp(
        [
            "export-onnx",
            str(run / "model.tar.gz"),
            str(int8_folder),
            "--optimize",
            "--quantize",
            "int8",
        ],
        env=cli_env(),
    )
    assert "exported to" in result.stdout
    return run, float_folder, int8_folder


def _session(folder):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(
        str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
    )


def _feeds(data, task, path):
    """Each fixture instance as one graph input (batch 1: no padding to share)."""
    for instance in data.read_task(task, path):
        batch = Batch([instance])
        batch.index_instances(Vocabulary())
        pieces = batch.as_tensor_dict()["tokens"]["tokens"]
        yield {
            "input_ids": pieces["token_ids"].numpy().astype(np.int64),
            "attention_mask": pieces["mask"].numpy().astype(np.int64),
            "token_type_ids": pieces["type_ids"].numpy().astype(np.int64),
        }


def test_int8_export_agrees_with_the_float_export(exports):
    run, float_folder, int8_folder = exports
    data = load_archive(str(run / "model.tar.gz")).validation_dataset_reader
    sessions = {"float": _session(float_folder), "int8": _session(int8_folder)}
    same, total, score_gap = 0, 0, 0.0
    for task, folder in FILES.items():
        for split in ("train", "dev"):
            path = str(ROOT / "fixtures" / "data" / "glue" / folder / f"{split}.tsv")
            for feed in _feeds(data, task, path):
                (clean,) = sessions["float"].run([task], feed)
                (quantized,) = sessions["int8"].run([task], feed)
                if task == "stsb":
                    score_gap = max(score_gap, float(np.abs(clean - quantized).max()))
                else:
                    total += 1
                    same += int(clean.argmax(-1)[0] == quantized.argmax(-1)[0])
    agreement = same / total
    print(
        f"\nPARITY int8 vs float: labels agree on {same}/{total} ({agreement:.1%}); "
        f"largest STS-B score difference {score_gap:.4f}"
    )
    assert total >= 190  # RTE and SST-2, train and dev
    assert agreement >= LABEL_AGREEMENT
    assert score_gap <= REGRESSION_TOLERANCE


def test_int8_export_holds_int8_weights_and_says_so(exports):
    _, float_folder, int8_folder = exports
    graph = onnx.load(str(int8_folder / "model.onnx"))
    operators = {node.op_type for node in graph.graph.node}
    # Dynamic quantisation: int8 weights, activations quantised at run time.
    assert operators & {"DynamicQuantizeMatMul", "MatMulInteger", "QAttention"}
    assert any(init.data_type == onnx.TensorProto.INT8 for init in graph.graph.initializer)
    # --optimize fused operators into onnxruntime's own (GELU with its bias, at least); the
    # float export has none of them.
    fused = {"BiasGelu", "FastGelu", "Gelu", "SkipLayerNormalization", "Attention", "QAttention"}
    assert operators & fused, sorted(operators)
    float_graph = onnx.load(str(float_folder / "model.onnx"))
    assert not {node.op_type for node in float_graph.graph.node} & fused
    size = (int8_folder / "model.onnx").stat().st_size
    # The tiny BERT: 51% (its graph's structure weighs as much as its weights); MiniLM: 27%.
    assert size < 0.6 * (float_folder / "model.onnx").stat().st_size
    meta = json.loads((int8_folder / "labels.json").read_text())
    assert meta["graph"] == {"optimize": True, "quantize": "int8"}
    assert "graph" not in json.loads((float_folder / "labels.json").read_text())
    # The folder's own predictor runs it, and labels as the float folder's does.
    examples = [{"task": "sst2", "premise": "A warm, funny and moving film."}]
    (prediction,) = exported_predictor(int8_folder).predict(examples)
    (reference,) = exported_predictor(float_folder).predict(examples)
    assert prediction["label"] == reference["label"]
    assert prediction["label"] in meta["tasks"]["sst2"]["labels"]
    assert sum(prediction["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)


def test_a_failing_quantisation_leaves_nothing(tmp_path, monkeypatch):
    """The float graph is written, then quantising fails: no export folder, no temporary one,
    no half-written graph."""
    mtdnn = model(["rte"], ENCODERS["bilstm"]).eval()

    def broken_quantize(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("onnxruntime.quantization.quantize_dynamic", broken_quantize)
    with pytest.raises(OSError, match="disk full"):
        export_model(mtdnn, reader(["rte"]), str(tmp_path / "export"), quantize="int8")
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_quantisation_is_refused_before_anything_is_written(tmp_path):
    mtdnn = model(["rte"], ENCODERS["bilstm"]).eval()
    with pytest.raises(ConfigurationError, match=r"quantize must be one of \['int8'\]"):
        export_model(mtdnn, reader(["rte"]), str(tmp_path / "export"), quantize="int4")
    assert list(tmp_path.iterdir()) == []
    assert export_module.QUANTIZE_CHOICES == ("int8",)
