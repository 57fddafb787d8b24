"""Device and precision through the stock CLI: bf16 training of the demo, an adversarial config
and a distillation student on the CPU (slow), and the same work on CUDA with fp16 and bf16 plus
soft targets and ONNX on the GPU (gpu: skipped without CUDA; scripts/gpu_check.sh runs them)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import FIXTURES, cli_env, run_allennlp

CONFIGS = [
    "training_config/demo.jsonnet",
    "training_config/adversarial/rte.jsonnet",
    "training_config/distillation/student_small_transformer.jsonnet",
]


def _train(config: str, output: Path, **environment: str) -> str:
    env = cli_env(MTDNN_SMOKE="1", **environment)
    result = run_allennlp(["train", config, "-s", str(output)], env=env)
    assert json.loads((output / "metrics.json").read_text())["training_loss"] >= 0
    return result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU fallback")
@pytest.mark.parametrize("config", CONFIGS)
def test_bf16_trains_on_the_cpu_and_the_log_says_why(config, tmp_path):
    log = _train(config, tmp_path / "run", MTDNN_PRECISION="bf16")
    assert "device: cpu (no CUDA available)" in log
    archived = json.loads((tmp_path / "run" / "config.json").read_text())
    assert archived["model"]["encoder"]["autocast_dtype"] == "bfloat16"


@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["fp16", "bf16"])
@pytest.mark.parametrize("config", CONFIGS)
def test_training_on_the_gpu(config, precision, tmp_path):
    log = _train(config, tmp_path / "run", MTDNN_PRECISION=precision)
    assert "device: cuda:0 (CUDA available, MTDNN_DEVICE=auto)" in log


@pytest.mark.gpu
def test_soft_targets_and_onnx_on_the_gpu(tmp_path):
    _train("training_config/demo.jsonnet", tmp_path / "teacher", MTDNN_DEVICE="0")
    archive = str(tmp_path / "teacher" / "model.tar.gz")
    targets = tmp_path / "soft.jsonl"
    mapping = json.dumps({"rte": str(FIXTURES / "data/glue/RTE/train.tsv")})
    run_allennlp(
        ["soft-targets", archive, mapping, "--output-file", str(targets), "--cuda-device", "0"]
    )
    assert len(targets.read_text().splitlines()) > 0
    export = tmp_path / "export"
    run_allennlp(["export-onnx", archive, str(export)])
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text(json.dumps({"task": "rte", "premise": "A cat.", "hypothesis": "A pet."}))
    result = subprocess.run(
        [sys.executable, str(export / "predict_onnx.py"), str(export), str(inputs)]
        + ["--providers", "CUDAExecutionProvider,CPUExecutionProvider"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout.splitlines()[0])["label"] in ("entailment", "not_entailment")
