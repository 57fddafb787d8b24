"""Teacher vs students, side by side in one run: parameters, CPU speed (PyTorch, ONNX Runtime
float and int8, batch 1 and 32), and dev scores.

    PYTHONPATH=. python benchmarks/distillation.py --quick
    PYTHONPATH=. python benchmarks/distillation.py \
        --teacher runs/teacher_seed1/model.tar.gz \
        --student small_transformer=runs/student_small_transformer/model.tar.gz \
        --student bilstm=runs/student_bilstm/model.tar.gz --output bench.json
    # Dev scores only (no model is loaded or timed); a model's tasks may come from several runs,
    # e.g. the teacher refined on each task by scripts/distill_pipeline.sh:
    PYTHONPATH=. python benchmarks/distillation.py --scores-only \
        --dev teacher=runs/refined_seed1_rte,runs/refined_seed1_mrpc,runs/refined_seed1_stsb,\
    runs/refined_seed1_sst2 --dev bilstm=runs/student_bilstm

Without archives, the models are built untrained from the distillation configs' encoders (the
MiniLM teacher, the 2-layer student, the BiLSTM student): parameter counts and speed do not
depend on training. With archives, dev scores are read from the `metrics.json` each training
run wrote next to its archive (the best epoch's validation metrics,
`best_validation_<task>_<metric>`): each task's main metric (MAIN_METRIC), their mean over RTE,
MRPC, STS-B and SST-2 ("GLUE-4 average"), and that mean divided by the teacher's ("kept"),
against the issue's target of at least 97% (`--target`). `--dev NAME=RUN[,RUN...]` adds or
replaces a model's dev scores from training runs (folders, archives or metrics.json files); with
several runs each task's score comes from the run that trained on it. `--scores-only` reports
the dev scores alone.

Speed is measured interleaved: each repetition times every model and backend in turn, so load
from other processes on the machine falls on all of them alike; medians are reported. Inputs
are the first examples of a dev file (RTE by default, read with the model's own reader).
Backends: `pytorch`, `onnxruntime` (the float export) and `onnxruntime_int8` (`export-onnx
--optimize --quantize int8`: extended graph optimisation, dynamic int8 quantisation). Each
model's `int8_speedup_vs_float_teacher` divides its int8 throughput by the float teacher's in
ONNX Runtime, against the issue's target of 3x (`--speed-target`) at batch 1 and 32.
"""

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from allennlp.common import Params
from allennlp.common.util import import_module_and_submodules
from allennlp.data import Batch, DatasetReader, Vocabulary
from allennlp.models import Model

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import_module_and_submodules("mtdnn_allennlp")

from benchmarks import common  # noqa: E402
from mtdnn_allennlp.common.environment import setting  # noqa: E402
from mtdnn_allennlp.data.dataset_readers import MultiTaskReader  # noqa: E402
from mtdnn_allennlp.distillation.export import export_model  # noqa: E402

logger = logging.getLogger("benchmark")
GLUE4 = ["rte", "mrpc", "stsb", "sst2"]
# The ONNX Runtime exports timed: what `export_model` is given for each.
ONNX_BACKENDS = {
    "onnxruntime": {},
    "onnxruntime_int8": {"optimize": True, "quantize": "int8"},
}
# The main metric of each task, whose dev value the comparison averages.
MAIN_METRIC = {"rte": "accuracy", "mrpc": "accuracy", "stsb": "pearson", "sst2": "accuracy"}


def _tasks(names: List[str]) -> List[Dict[str, Any]]:
    import _jsonnet

    library = json.loads(
        _jsonnet.evaluate_file(
            str(ROOT / "training_config" / "tasks.libsonnet"),
            ext_vars={"MTDNN_DATA": setting("MTDNN_DATA")},
        )
    )
    return [library[name] for name in names]


def untrained(encoder: Dict[str, Any], encoder_name: str) -> Tuple[Model, MultiTaskReader]:
    model = Model.from_params(
        vocab=Vocabulary(),
        params=Params({"type": "mtdnn", "encoder": encoder, "tasks": _tasks(GLUE4)}),
    )
    reader = DatasetReader.from_params(
        Params({"type": "mtdnn_multitask", "tasks": _tasks(GLUE4), "encoder": encoder_name})
    )
    return model, reader


def from_archive(path: str) -> Tuple[Model, MultiTaskReader, Dict[str, float]]:
    from allennlp.models.archival import load_archive

    archive = load_archive(path)
    return archive.model, archive.validation_dataset_reader, dev_scores([path])


def _metrics_file(run: str) -> Path:
    """A run folder, its model.tar.gz, or its metrics.json: the metrics.json."""
    path = Path(run)
    if path.name == "metrics.json":
        return path
    return (path if path.is_dir() else path.parent) / "metrics.json"


def dev_scores(runs: List[str]) -> Dict[str, float]:
    """Each GLUE-4 task's main dev metric (the best epoch's) from the runs' metrics.json, and
    the model's own `best_validation_average` (of one run only: it spans that run's tasks).

    Several runs make up one model task by task (per-task refined teachers): a task scored by
    two of them is an error, as is a run without metrics.json.
    """
    scores: Dict[str, float] = {}
    source: Dict[str, Path] = {}
    for run in runs:
        file = _metrics_file(run)
        if not file.is_file():
            raise FileNotFoundError(
                f"{file}: no metrics.json; give a finished training run (its folder, its "
                "model.tar.gz or its metrics.json)"
            )
        metrics = json.loads(file.read_text())
        for task in GLUE4:
            key = f"best_validation_{task}_{MAIN_METRIC[task]}"
            if key not in metrics:
                continue
            if task in source:
                raise ValueError(
                    f"{task} is scored by both {source[task]} and {file}: give one run per task"
                )
            scores[task] = metrics[key]
            source[task] = file
        if len(runs) == 1 and "best_validation_average" in metrics:
            scores["average"] = metrics["best_validation_average"]
    return scores


def compare_dev(
    scores: Dict[str, Dict[str, float]], reference: str = "teacher", target: float = 0.97
) -> Dict[str, Any]:
    """The GLUE-4 average of each model's main metrics and its ratio to the reference's.

    A model missing a task gets no average (a mean over fewer tasks would not compare), and
    says which tasks are missing.
    """
    rows: Dict[str, Dict[str, Any]] = {}
    for name, model_scores in scores.items():
        missing = [task for task in GLUE4 if task not in model_scores]
        row: Dict[str, Any] = {"scores": {t: model_scores[t] for t in GLUE4 if t in model_scores}}
        if missing:
            row["missing"] = missing
        else:
            row["glue4_average"] = statistics.fmean(model_scores[task] for task in GLUE4)
        rows[name] = row
    base = rows.get(reference, {}).get("glue4_average")
    for name, row in rows.items():
        if base and "glue4_average" in row and name != reference:
            row["kept"] = row["glue4_average"] / base
            row["meets_target"] = row["kept"] >= target
    return {
        "tasks": GLUE4,
        "main_metric": MAIN_METRIC,
        "reference": reference,
        "target": target,
        "models": rows,
    }


def dev_table(dev: Dict[str, Any]) -> str:
    head = ["model"] + [f"{t} {MAIN_METRIC[t]}" for t in GLUE4] + ["GLUE-4 avg", "kept", "target"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in dev["models"].items():
        cells = [name] + [f"{row['scores'][t]:.4f}" if t in row["scores"] else "-" for t in GLUE4]
        cells.append(f"{row['glue4_average']:.4f}" if "glue4_average" in row else "-")
        cells.append(f"{row['kept']:.1%}" if "kept" in row else "-")
        if "meets_target" in row:
            verdict = "met" if row["meets_target"] else "missed"
            cells.append(f"{verdict} (>= {dev['target']:.0%})")
        else:
            cells.append("-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parameter_count(model: Model) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


def batches(reader: MultiTaskReader, task: str, path: str, size: int, count: int) -> List[Dict]:
    instances = []
    for instance in reader.read_task(task, path):
        instances.append(instance)
        if len(instances) >= size * count:
            break
    while len(instances) < size * count:  # a small dev file (the fixtures) is cycled
        instances.extend(instances[: size * count - len(instances)])
    out = []
    for start in range(0, len(instances), size):
        batch = Batch(instances[start : start + size])
        batch.index_instances(Vocabulary())
        out.append(batch.as_tensor_dict())
    return out


def time_torch(model: Model, tensors: List[Dict]) -> List[float]:
    tensors = common.on_benchmark_device(model, tensors)
    seconds = []
    with torch.no_grad():
        for batch in tensors:
            start = time.perf_counter()
            model(tokens=batch["tokens"], task=batch["task"])
            seconds.append(time.perf_counter() - start)
    return seconds


def onnx_inputs(tensors: List[Dict], names: List[str]) -> List[Dict[str, np.ndarray]]:
    feeds = []
    for batch in tensors:
        pieces = batch["tokens"]["tokens"]
        feed = {
            "input_ids": pieces["token_ids"].numpy().astype(np.int64),
            "attention_mask": pieces["mask"].numpy().astype(np.int64),
            "token_type_ids": pieces["type_ids"].numpy().astype(np.int64),
        }
        feeds.append({name: value for name, value in feed.items() if name in names})
    return feeds


def time_onnx(session, task: str, feeds: List[Dict[str, np.ndarray]]) -> List[float]:
    seconds = []
    for feed in feeds:
        start = time.perf_counter()
        session.run([task], feed)
        seconds.append(time.perf_counter() - start)
    return seconds


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--teacher", help="teacher archive (default: untrained MiniLM MT-DNN)")
    parser.add_argument("--student", action="append", default=[], help="NAME=ARCHIVE (repeatable)")
    parser.add_argument("--quick", action="store_true", help="few repetitions and batches")
    parser.add_argument("--task", default="rte", help="the task whose dev inputs are timed")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for both runtimes")
    parser.add_argument("--repetitions", type=int, default=None)
    parser.add_argument("--output", help="write the results as JSON here")
    parser.add_argument(
        "--dev",
        action="append",
        default=[],
        help="NAME=RUN[,RUN...]: a model's dev scores from training runs' metrics.json "
        "(repeatable; with several runs, each task from the run trained on it)",
    )
    parser.add_argument(
        "--scores-only", action="store_true", help="dev scores only: load and time no model"
    )
    parser.add_argument("--reference", default="teacher", help="the model 'kept' divides by")
    parser.add_argument("--target", type=float, default=0.97, help="the kept fraction aimed at")
    parser.add_argument(
        "--speed-target",
        type=float,
        default=3.0,
        help="int8 throughput over the float teacher's (ONNX Runtime) aimed at",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    extra_dev = {}
    for spec in args.dev:
        name, _, runs = spec.partition("=")
        if not name or not runs:
            parser.error(f"--dev takes NAME=RUN[,RUN...], not {spec!r}")
        extra_dev[name] = dev_scores([run for run in runs.split(",") if run])
    if args.scores_only:
        if args.teacher:
            extra_dev.setdefault("teacher", dev_scores([args.teacher]))
        for spec in args.student:
            name, _, path = spec.partition("=")
            extra_dev.setdefault(name, dev_scores([path]))
        if not extra_dev:
            parser.error("--scores-only needs --dev, --teacher or --student runs")
        results: Dict[str, Any] = {"dev": compare_dev(extra_dev, args.reference, args.target)}
        print(dev_table(results["dev"]))
        if args.output:
            Path(args.output).write_text(json.dumps(results, indent=2))
        return results
    torch.set_num_threads(args.threads)
    import onnxruntime

    load_at_start = os.getloadavg()[0]

    encoder_name = setting("MTDNN_ENCODER")
    models: Dict[str, Tuple[Model, MultiTaskReader, Dict[str, float]]] = {}
    if args.teacher:
        models["teacher"] = from_archive(args.teacher)
    else:
        teacher = {"type": "transformer", "model_name": encoder_name}
        models["teacher"] = (*untrained(teacher, encoder_name), {})
    if args.student:
        for spec in args.student:
            name, _, path = spec.partition("=")
            models[name] = from_archive(path)
    else:
        small = {"type": "transformer_student", "model_name": encoder_name, "num_layers": 2}
        bilstm = {"type": "bilstm", "vocab_from": encoder_name, "lstm_size": 256}
        models["small_transformer"] = (*untrained(small, encoder_name), {})
        models["bilstm"] = (*untrained(bilstm, encoder_name), {})

    repetitions = args.repetitions or (3 if args.quick else 7)
    counts = {1: 8 if args.quick else 32, 32: 2 if args.quick else 4}
    dev = str(Path(setting("MTDNN_DATA")) / _dev_relative(args.task))
    workdir = Path(tempfile.mkdtemp(prefix="kd_bench_"))
    sessions: Dict[str, Dict[str, Any]] = {}
    inputs = {}
    for name, (model, reader, _) in models.items():
        model.eval()
        sessions[name] = {}
        for backend, post_processing in ONNX_BACKENDS.items():
            folder = export_model(model, reader, str(workdir / backend / name), **post_processing)
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = args.threads
            options.inter_op_num_threads = 1
            sessions[name][backend] = onnxruntime.InferenceSession(
                str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
            )
        input_names = [each.name for each in sessions[name]["onnxruntime"].get_inputs()]
        inputs[name] = {}
        for size, count in counts.items():
            tensors = batches(reader, args.task, dev, size, count)
            inputs[name][size] = (tensors, onnx_inputs(tensors, input_names))
        # Warm-up: first calls allocate and pick kernels.
        time_torch(model, inputs[name][1][0][:2])
        for session in sessions[name].values():
            time_onnx(session, args.task, inputs[name][1][1][:2])

    timings: Dict[Tuple[str, str, int], List[float]] = {}
    for _ in range(repetitions):
        for name, (model, _, _) in models.items():
            for size in counts:
                tensors, feeds = inputs[name][size]
                timings.setdefault((name, "pytorch", size), []).extend(time_torch(model, tensors))
                for backend, session in sessions[name].items():
                    timings.setdefault((name, backend, size), []).extend(
                        time_onnx(session, args.task, feeds)
                    )

    results = {
        "task_timed": args.task,
        "threads": args.threads,
        "load_average_at_start": load_at_start,
        "load_average_at_end": os.getloadavg()[0],
        "speed_target": args.speed_target,
        "models": {},
    }
    for name, (model, _, scores) in models.items():
        row: Dict[str, Any] = {"parameters": parameter_count(model), "speed": {}}
        for backend in ("pytorch", *ONNX_BACKENDS):
            for size in counts:
                median = statistics.median(timings[(name, backend, size)])
                row["speed"][f"{backend}_b{size}"] = {
                    "latency_ms": 1000 * median,
                    "examples_per_s": size / median,
                }
        row["dev"] = scores
        results["models"][name] = row
    teacher_row = results["models"]["teacher"]
    for row in results["models"].values():
        row["speedup_vs_teacher"] = {
            key: row["speed"][key]["examples_per_s"] / teacher_row["speed"][key]["examples_per_s"]
            for key in row["speed"]
        }
        row["int8_speedup_vs_float_teacher"] = {
            f"b{size}": row["speed"][f"onnxruntime_int8_b{size}"]["examples_per_s"]
            / teacher_row["speed"][f"onnxruntime_b{size}"]["examples_per_s"]
            for size in counts
        }
        row["meets_speed_target"] = all(
            value >= args.speed_target for value in row["int8_speedup_vs_float_teacher"].values()
        )
        if "average" in row["dev"] and "average" in teacher_row["dev"]:
            row["dev_kept"] = row["dev"]["average"] / teacher_row["dev"]["average"]
    dev = {name: row["dev"] for name, row in results["models"].items() if row["dev"]}
    dev.update(extra_dev)
    print(table(results))
    if dev:
        results["dev"] = compare_dev(dev, args.reference, args.target)
        print()
        print(dev_table(results["dev"]))
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2))
    return results


def _dev_relative(task: str) -> str:
    folders = {"rte": "RTE", "mrpc": "MRPC", "stsb": "STS-B", "sst2": "SST-2"}
    return f"glue/{folders[task]}/dev.tsv"


def table(results: Dict[str, Any]) -> str:
    keys = [f"{backend}_b{size}" for size in (1, 32) for backend in ("pytorch", *ONNX_BACKENDS)]
    head = ["model", "params (M)"]
    head += [f"{key} ms" for key in keys] + [f"{key} ex/s" for key in keys]
    head += ["speedup b32 (ort)", "int8 vs float teacher b1 / b32", "dev avg", "dev kept"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in results["models"].items():
        cells = [name, f"{row['parameters'] / 1e6:.1f}"]
        cells += [f"{row['speed'][key]['latency_ms']:.1f}" for key in keys]
        cells += [f"{row['speed'][key]['examples_per_s']:.3g}" for key in keys]
        cells.append(f"{row['speedup_vs_teacher']['onnxruntime_b32']:.2f}x")
        int8 = row["int8_speedup_vs_float_teacher"]
        cells.append(f"{int8['b1']:.2f}x / {int8['b32']:.2f}x")
        cells.append(f"{row['dev']['average']:.4f}" if "average" in row["dev"] else "-")
        cells.append(f"{row['dev_kept']:.1%}" if "dev_kept" in row else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
