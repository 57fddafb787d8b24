#!/usr/bin/env bash
# The GPU check (docs/gpu.md), at most 10 minutes on a machine with a CUDA GPU:
#   1. a venv on top of the image's python3, torch and transformers (--system-site-packages),
#      with the project's other wheels from WHEEL_DIR (scripts/prepare_gpu_wheels.sh) --no-index;
#   2. the gpu-marked tests: the demo, adversarial/rte.jsonnet and the small-transformer
#      distillation student trained with fp16 and with bf16; soft targets and ONNX on CUDA;
#   3. a throughput table: the demo's training on the CPU and on cuda:0 in fp32, fp16, bf16.
# Exits non-zero when any step fails (every step still runs, so one run shows everything).
#
# Usage: scripts/gpu_check.sh WHEEL_DIR   (from the repository root)
# Environment: GPU_VENV (default /tmp/mtdnn-gpu-venv), PYTHON (default python3).
set -uo pipefail

WHEELS=${1:?usage: scripts/gpu_check.sh WHEEL_DIR}
VENV=${GPU_VENV:-/tmp/mtdnn-gpu-venv}
PYTHON=${PYTHON:-python3}
failed=()

step() {  # step NAME SECONDS COMMAND...: runs COMMAND with a time limit, records a failure
  local name=$1 limit=$2
  shift 2
  echo "== $name"
  local run=(timeout "$limit")
  if declare -F "$1" >/dev/null; then run=(); fi  # a function of this script: no timeout(1)
  if "${run[@]}" "$@"; then
    echo "-- ok: $name"
  else
    echo "-- FAILED ($?): $name"
    failed+=("$name")
  fi
}

# The carried wheels the image lacks: a distribution the image already has (numpy, its own
# onnxruntime-gpu...) is kept, so the image's CUDA builds are what runs.
missing_wheels() {
  "$VENV/bin/python" - "$WHEELS" <<'PY'
import importlib.metadata as metadata, pathlib, re, sys

def have(name):
    try:
        metadata.version(name)
        return True
    except metadata.PackageNotFoundError:
        return False

for wheel in sorted(pathlib.Path(sys.argv[1]).glob("*.whl")):
    name = re.sub(r"[-_.]+", "-", wheel.name.split("-")[0]).lower()
    if name == "mtdnn-allennlp" or not (have(name) or have(name + "-gpu")):
        print(wheel)
PY
}

install() {
  "$PYTHON" -m venv --system-site-packages "$VENV" &&
    mapfile -t wheels < <(missing_wheels) &&
    "$VENV/bin/pip" install -q --disable-pip-version-check --no-index --no-deps "${wheels[@]}" &&
    "$VENV/bin/python" -c 'import torch, sys; print("torch", torch.__version__, "CUDA",
torch.cuda.is_available()); sys.exit(0 if torch.cuda.is_available() else 1)' &&
    "$VENV/bin/python" -m mtdnn_allennlp.compat.check
}

step "install (venv on the image's torch and transformers)" 180 install
if [ ${#failed[@]} -gt 0 ]; then
  echo "gpu_check: the environment could not be built; nothing else runs" >&2
  exit 1
fi
export PATH="$VENV/bin:$PATH" HF_HUB_OFFLINE=1
# The gpu-marked tests run the installed wheel's code: they import tests/ from this checkout only.
step "gpu tests (fp16/bf16 training, soft targets, ONNX on CUDA)" 300 \
  python -m pytest tests/test_device_cli.py -m gpu -q -p no:cacheprovider -rs
step "throughput: demo on cpu and cuda:0" 240 python scripts/gpu_throughput.py

if [ ${#failed[@]} -gt 0 ]; then
  printf 'gpu_check: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "gpu_check: all steps passed"
