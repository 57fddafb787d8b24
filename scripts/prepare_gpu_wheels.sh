#!/usr/bin/env bash
# Prepares the wheel folder that scripts/gpu_check.sh installs on a GPU machine (docs/gpu.md).
#
# The GPU image brings its own python3 (3.12), torch (with its own dependencies) and
# transformers 5 (with tokenizers, huggingface_hub and safetensors). Everything else in
# requirements/lock.txt is carried, as Python 3.12 manylinux wheels, plus this checkout as a
# wheel. Everything is fetched --no-deps from the lock, as the Makefile installs allennlp: the
# resolver would otherwise chase allennlp's 2022 pins and torch (an unpinned torch is a
# multi-GB CUDA build; the image has one).
#
# Usage: scripts/prepare_gpu_wheels.sh OUT_DIR [PYTHON_VERSION]   (default 3.12)
# Environment: PIP (default .venv/bin/pip). Run from the repository root.
set -euo pipefail

OUT=${1:?usage: scripts/prepare_gpu_wheels.sh OUT_DIR [PYTHON_VERSION]}
PY=${2:-3.12}
PIP=${PIP:-.venv/bin/pip}
# The image's: torch and what it depends on, and the transformers 5 stack.
IMAGE='torch|torchvision|triton|nvidia-.*|sympy|mpmath|networkx|jinja2|markupsafe|fsspec'
IMAGE+='|transformers|tokenizers|huggingface[-_]hub|safetensors|hf-xet'
mkdir -p "$OUT"
carried=$(mktemp)
built=$(mktemp -d)
trap 'rm -rf "$carried" "$built"' EXIT
grep -viE "^($IMAGE)==" requirements/lock.txt | grep -viE '^(pip|mtdnn[-_]allennlp)==' > "$carried"

# One requirement at a time: a binary wheel for the GPU's Python when there is one; otherwise
# (fairscale, a few others publish sdists only) a wheel built here, which must come out pure
# Python (py3-none-any) to be usable there.
while read -r requirement; do
  if ! "$PIP" download -q --disable-pip-version-check --no-deps --dest "$OUT" \
      --only-binary=:all: --python-version "$PY" --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
      --platform manylinux2014_x86_64 --platform any "$requirement" 2>/dev/null; then
    "$PIP" wheel -q --disable-pip-version-check --no-deps --wheel-dir "$built" "$requirement"
  fi
done < "$carried"
for wheel in "$built"/*.whl; do
  [ -e "$wheel" ] || continue
  case "$wheel" in
    *-py3-none-any.whl | *-py2.py3-none-any.whl) mv "$wheel" "$OUT"/ ;;
    *) echo "prepare_gpu_wheels: $(basename "$wheel") is not pure Python; no $PY wheel" >&2
       exit 1 ;;
  esac
done
"$PIP" wheel --disable-pip-version-check --no-deps --no-build-isolation --wheel-dir "$OUT" .
echo "prepare_gpu_wheels: $(ls "$OUT" | wc -l) wheels in $OUT; copy it with the checkout"
