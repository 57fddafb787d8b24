"""docs/task_library.md against the code: every documented option exists, every option of the
code is documented, and literal defaults match the constructors'."""

import inspect
import json
import re
from typing import Dict, List, Tuple

import pytest
from allennlp.data import DatasetReader

from mtdnn_allennlp.common.registered_names import replacement
from mtdnn_allennlp.data.dataset_readers import TaskReader
from mtdnn_allennlp.data.dataset_readers.multitask import DATA_FILE_KEYS
from mtdnn_allennlp.models.heads import TaskHead
from mtdnn_allennlp.tasks import TaskDefinition
from tests.conftest import ROOT

PAGE = ROOT / "docs" / "task_library.md"
# Passed in by the multi-task reader and the model, never written in a task.
SUPPLIED = {"self", "kwargs", "input_dim", "task", "encoder"}
SET_BY_EXPERIMENT = {
    "max_length",
    "sample_size",
    "sample_seed",
    "sample_held_out",
    "cache_directory",
}


def sections(level: str) -> Dict[str, List[Tuple[str, str]]]:
    """`{heading: [(option, default), ...]}` from the tables under each heading of `level`
    (e.g. "###"), headings and options written in backticks."""
    found: Dict[str, List[Tuple[str, str]]] = {}
    current = None
    for line in PAGE.read_text().splitlines():
        heading = re.match(rf"^{level} `?([^`]+)`?$", line)
        if heading:
            current = heading.group(1)
            found[current] = []
        elif re.match(r"^#{1,%d} " % len(level), line):  # noqa: UP031
            current = None
        elif current is not None:
            row = re.match(r"^\| `([^`]+)` \| ([^|]*) \|", line)
            if row:
                found[current].append((row.group(1), row.group(2).strip()))
    return found


def constructor_params(cls, stop) -> Dict[str, inspect.Parameter]:
    params: Dict[str, inspect.Parameter] = {}
    for klass in cls.__mro__:
        if klass is stop:
            break
        if "__init__" in klass.__dict__:
            for name, param in inspect.signature(klass.__init__).parameters.items():
                if name not in SUPPLIED:
                    params.setdefault(name, param)
    return params


def check_defaults(where: str, documented, params) -> None:
    for option, default in documented:
        literal = re.fullmatch(r"`(.+)`", default)
        expected = params[option].default
        if literal is None or expected is None or expected is inspect.Parameter.empty:
            continue
        assert json.loads(literal.group(1)) == expected, f"{where}: {option} default"


def test_every_task_key_is_documented_and_exists():
    (rows,) = [rows for name, rows in sections("##").items() if name == "Task keys"]
    params = {
        name: param
        for name, param in inspect.signature(TaskDefinition.__init__).parameters.items()
        if name != "self"
    }
    assert [option for option, _ in rows] == list(params)
    check_defaults("task keys", rows, params)


def layouts() -> Dict[str, type]:
    return {
        name: cls
        for name, (cls, _) in DatasetReader._registry[DatasetReader].items()
        if issubclass(cls, TaskReader)
        and not name.startswith("test_")
        and replacement(DatasetReader, name) is None  # a deprecated alias
    }


def test_every_layout_and_each_of_its_options_is_documented():
    documented = sections("###")
    missing = sorted(set(layouts()) - set(documented))
    assert not missing, f"layouts without a section: {missing}"
    for name, cls in layouts().items():
        params = constructor_params(cls, TaskReader)
        assert {option for option, _ in documented[name]} == set(params), name
        check_defaults(name, documented[name], params)


def test_common_reader_options_are_every_task_reader_setting():
    (rows,) = [rows for name, rows in sections("##").items() if name == "Options of every layout"]
    params = constructor_params(TaskReader, DatasetReader)
    assert {option for option, _ in rows} | SET_BY_EXPERIMENT == set(params)
    check_defaults("common options", rows, params)
    text = PAGE.read_text()
    for name in sorted(SET_BY_EXPERIMENT | {"encoder"}):
        assert f"`{name}`" in text


def test_every_head_and_each_of_its_options_is_documented():
    documented = sections("###")
    for name, (cls, _) in TaskHead._registry[TaskHead].items():
        if name.startswith("test_"):
            continue
        params = constructor_params(cls, TaskHead)
        assert {option for option, _ in documented[name]} == set(params), name
        check_defaults(name, documented[name], params)


def test_data_file_keys_are_documented():
    (rows,) = [rows for name, rows in sections("##").items() if name == "Data files"]
    assert [option for option, _ in rows] == list(DATA_FILE_KEYS)


def test_experiment_arguments_are_documented():
    (rows,) = [rows for name, rows in sections("##").items() if name == "Library functions"]
    library = (ROOT / "training_config" / "experiment.libsonnet").read_text()
    signature = re.search(r"experiment\(\n(.*?)\n  \)::", library, re.S).group(1)
    arguments = [line.strip().split("=")[0].rstrip(",") for line in signature.splitlines()]
    assert [option for option, _ in rows] == arguments


@pytest.mark.parametrize("name", ["bioner", "aux_mlm"])
def test_library_functions_are_public_and_documented(name):
    library = (ROOT / "training_config" / "tasks.libsonnet").read_text()
    assert re.search(rf"^  {name}\(", library, re.M), f"{name} is not a public field"
    assert f"`{name}(" in PAGE.read_text()
