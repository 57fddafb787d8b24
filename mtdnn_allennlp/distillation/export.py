"""Export a trained model to a folder that runs with onnxruntime alone (see predict_onnx.py)."""

import json
import logging
import os
import shutil
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.common.tqdm import Tqdm

from mtdnn_allennlp.common.atomic import atomic_folder
from mtdnn_allennlp.tasks.types import TaskType
from mtdnn_allennlp.tasks.types import data_format as format_of

logger = logging.getLogger(__name__)

INPUT_NAMES = ["input_ids", "attention_mask", "token_type_ids"]
OPSET = 17
# What `--quantize` accepts: onnxruntime's dynamic quantisation (weights int8 ahead of time,
# activations quantised per batch at run time).
QUANTIZE_CHOICES = ("int8",)


class AllHeads(torch.nn.Module):
    """Encoder once, then every task's head: one graph output per task, named after it."""

    def __init__(self, model) -> None:
        super().__init__()
        self.encoder = model.encoder
        self.names: List[str] = list(model.heads.keys())
        self.heads = torch.nn.ModuleList([model.heads[name] for name in self.names])
        # Each task's type says what its graph output is (ranking: one score per pair).
        self.kinds = [model.tasks[name].kind for name in self.names]

    def forward(self, input_ids, attention_mask, token_type_ids) -> Tuple[torch.Tensor, ...]:
        encoded = self.encoder(input_ids, attention_mask, token_type_ids)
        return tuple(
            kind.onnx_output(head, encoded, attention_mask)
            for kind, head in zip(self.kinds, self.heads, strict=True)
        )


def check_exportable(model) -> None:
    for name, head in model.heads.items():
        kind = model.tasks[name].kind
        # Heads whose forward is plain tensor algebra the ONNX exporter traces exactly; a type
        # lists a head once an export round-trip test covers it.
        if type(head) not in kind.onnx_heads():
            head_type = model.tasks[name].head.get("type")
            supported = sorted(
                f"{type_name} ({', '.join(cls.__name__ for cls in heads)})"
                for type_name in TaskType.list_available()
                if (heads := TaskType.by_name(type_name)().onnx_heads())
            )
            raise ConfigurationError(
                f"Task '{name}': its head '{head_type}' ({type(head).__name__}) cannot be "
                f"exported to ONNX; supported heads by task type: {'; '.join(supported)}. "
                "Export a model without this task, or add the head to its task type's "
                "onnx_heads (mtdnn_allennlp/tasks/types/) with a round-trip test."
            )
        if model.tasks[name].data_format == "multiple_choice":
            raise ConfigurationError(
                f"Task '{name}': multiple choice cannot be exported yet: its pair texts are "
                "built from context, question, choices and a cloze blank by the reader, and "
                "predict_onnx.py builds (premise, hypothesis) pairs only. Export a model "
                "without this task, or use data_format 'premise_and_multi_hypothesis'."
            )


def example_inputs(batch: int = 2, length: int = 8) -> Dict[str, torch.Tensor]:
    ids = torch.randint(1, 100, (batch, length))
    mask = torch.ones(batch, length, dtype=torch.long)
    mask[1:, length // 2 :] = 0  # a padded row, so the graph is traced with padding
    types = torch.zeros(batch, length, dtype=torch.long)
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def export_model(
    model, reader, folder: str, quantize: Optional[str] = None, optimize: bool = False
) -> Path:
    """Writes model.onnx, tokenizer/, labels.json and predict_onnx.py into `folder`: all into a
    temporary folder first, moved into place once the export succeeded.

    `optimize` and `quantize` post-process the float graph once it is written (see
    `post_process`), in the same temporary folder, so a failure there leaves nothing either."""
    check_exportable(model)
    if quantize is not None and quantize not in QUANTIZE_CHOICES:
        raise ConfigurationError(
            f"quantize must be one of {list(QUANTIZE_CHOICES)} or None, got {quantize!r}"
        )
    with atomic_folder(folder) as temporary:
        _export_into(model, reader, temporary)
        post_process(temporary, quantize=quantize, optimize=optimize)
    logger.info("exported %s to %s", sorted(model.tasks), folder)
    return Path(folder)


def post_process(folder: Path, quantize: Optional[str] = None, optimize: bool = False) -> None:
    """Rewrites `folder`/model.onnx in place: graph-optimised and/or int8-quantised, and records
    what was done in labels.json (`graph`). The float graph is the input of both steps.

    - `optimize`: onnxruntime's extended graph optimisations (operator fusions such as GELU with
      its bias, LayerNorm with its skip connection, attention, where their patterns match the
      exported graph), applied offline and saved, as `SessionOptions.optimized_model_filepath`
      does. Extended, not "all": the layout
      transformations of "all" are specific to the machine that runs them. The saved graph
      uses onnxruntime's own (com.microsoft) fused operators, which need onnxruntime to run, as
      predict_onnx.py does anyway.
    - `quantize="int8"`: `onnxruntime.quantization.quantize_dynamic`, weights int8 (signed),
      activations uint8 per batch; after `optimize`, so a fused operator is quantised whole
      where onnxruntime has an integer version of it. Weights use 7 bits (`reduce_range`):
      without AVX-512 VNNI, onnxruntime's uint8 x int8 kernels can saturate the 16-bit
      intermediate sums (its documented caveat).
    """
    if not quantize and not optimize:
        return
    import onnx
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = folder / "model.onnx"
    work = folder / "model.work.onnx"
    if optimize:
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = str(work)
        onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        os.replace(work, graph)
    if quantize == "int8":
        # onnx's shape inference gives no type to the outputs of onnxruntime's fused operators
        # (after --optimize); every float tensor of these graphs is float32.
        quantize_dynamic(
            graph,
            work,
            weight_type=QuantType.QInt8,
            reduce_range=True,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        os.replace(work, graph)
    meta_file = folder / "labels.json"
    meta = json.loads(meta_file.read_text())
    meta["graph"] = {"optimize": bool(optimize), "quantize": quantize}
    meta_file.write_text(json.dumps(meta, indent=2))


def _export_into(model, reader, out: Path) -> None:
    progress = Tqdm.tqdm(total=3, desc="export-onnx: graph, tokenizer, labels")
    model.eval()
    wrapper = AllHeads(model).eval()
    inputs = example_inputs()
    dynamic = {name: {0: "batch", 1: "pieces"} for name in INPUT_NAMES}
    for task in wrapper.names:
        dynamic[task] = {0: "batch", 1: "pieces"} if _per_piece(model, task) else {0: "batch"}
    with warnings.catch_warnings():
        # The legacy (TorchScript) exporter handles LSTMs and transformers without onnxscript;
        # its deprecation and tracer warnings say nothing about this model.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            (inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"]),
            str(out / "model.onnx"),
            input_names=INPUT_NAMES,
            output_names=wrapper.names,
            dynamic_axes=dynamic,
            opset_version=OPSET,
            dynamo=False,
        )
    progress.update()
    any_reader = next(iter(reader.readers.values()))
    tokenizer = any_reader.pieces.tokenizer
    tokenizer.save_pretrained(str(out / "tokenizer"))
    # The reader's own tokenizer for pre-split words (a prefix space for byte-level BPE), so
    # that predict_onnx.py tokenises tagging input as the reader does, with no copy of the rule.
    if any(task.data_format == "sequence" for task in model.tasks.values()):
        any_reader.pieces.word_tokenizer.backend_tokenizer.save(
            str(out / "tokenizer" / "word_tokenizer.json")
        )
    progress.update()
    meta = {
        "max_length": any_reader.max_length,
        "pad_token_id": any_reader.pieces.pad_token_id,
        "inputs": INPUT_NAMES,
        "tasks": {
            name: {
                "task_type": task.task_type,
                "data_format": task.data_format,
                "inputs": list(format_of(task.data_format).input_fields),
                "labels": task.labels,
                "output": name,
                "max_length": reader.readers[name].max_length,
                **task.kind.onnx_settings(task, model.heads[name], reader.readers[name]),
            }
            for name, task in model.tasks.items()
        },
    }
    (out / "labels.json").write_text(json.dumps(meta, indent=2))
    shutil.copy(Path(__file__).with_name("predict_onnx.py"), out / "predict_onnx.py")
    progress.update()
    progress.close()


def _per_piece(model, task: str) -> bool:
    return model.tasks[task].kind.onnx_per_piece


def export_archive(
    archive_file: str, folder: str, quantize: Optional[str] = None, optimize: bool = False
) -> Path:
    from allennlp.models.archival import load_archive

    archive = load_archive(archive_file)
    return export_model(
        archive.model, archive.validation_dataset_reader, folder, quantize, optimize
    )
