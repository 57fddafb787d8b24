"""Private allennlp attributes are read and written only in `mtdnn_allennlp/compat/`.

The check parses allennlp's own source for the private names it defines (`self._x = ...`,
`def _x`, a module's `_x`), and this project's source (the package, benchmarks/, scripts/) for
every use of such a name: `obj._x`, `getattr(obj, "_x")` and a `_x=` keyword. A private name that
the project defines itself (e.g. an overridden `_read`, or its own `self._epoch`) is the
project's, not allennlp's, and is allowed.
"""

import ast
from pathlib import Path
from typing import Iterator, List, Set, Tuple

import allennlp
import pytest

from mtdnn_allennlp.compat import allennlp_internals

ROOT = Path(__file__).resolve().parents[2]
ALLENNLP = Path(allennlp.__file__).parent
SCANNED = ("mtdnn_allennlp", "benchmarks", "scripts")
ADAPTERS = ROOT / "mtdnn_allennlp" / "compat"


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _is_self(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id in ("self", "cls")


def _defined_names(tree: ast.AST) -> Set[str]:
    """Private names a source defines: attributes it sets on self, functions, classes, names."""
    names: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        targets: List[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        for target in targets:
            for each in ast.walk(target):
                # `self._x = ...` defines _x; `other._x = ...` writes someone else's attribute.
                if isinstance(each, ast.Attribute) and _is_self(each.value):
                    names.add(each.attr)
                elif isinstance(each, ast.Name):
                    names.add(each.id)
    return {name for name in names if _is_private(name)}


def _used_names(tree: ast.AST) -> Iterator[Tuple[int, str]]:
    """(line, name) of every private name the source reaches on some object."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            # self._x included: an attribute an allennlp base class set (e.g. _worker_info).
            yield node.lineno, node.attr
        elif isinstance(node, ast.Call):
            function = node.func
            if (
                isinstance(function, ast.Name)
                and function.id in ("getattr", "setattr", "hasattr", "delattr")
                and len(node.args) > 1
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
                and _is_private(node.args[1].value)
            ):
                yield node.lineno, node.args[1].value
            for keyword in node.keywords:
                if keyword.arg is not None and _is_private(keyword.arg):
                    yield node.lineno, keyword.arg


def _parse(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def allennlp_private_names() -> Set[str]:
    names: Set[str] = set()
    for path in ALLENNLP.rglob("*.py"):
        names |= _defined_names(_parse(path))
    return names


def project_files() -> List[Path]:
    files = [path for folder in SCANNED for path in (ROOT / folder).rglob("*.py")]
    return sorted(path for path in files if ADAPTERS not in path.parents)


def private_allennlp_uses(sources: List[Tuple[str, ast.AST]], allennlp_names: Set[str]):
    """'file:line: _name' for each use of an allennlp private name the sources do not define."""
    ours: Set[str] = set()
    for _, tree in sources:
        ours |= _defined_names(tree)
    theirs = allennlp_names - ours
    return [
        f"{where}:{line}: {name}"
        for where, tree in sources
        for line, name in _used_names(tree)
        if name in theirs
    ]


@pytest.fixture(scope="module")
def allennlp_names() -> Set[str]:
    return allennlp_private_names()


def test_no_private_allennlp_attribute_is_used_outside_compat(allennlp_names):
    sources = [(str(path.relative_to(ROOT)), _parse(path)) for path in project_files()]
    assert len(sources) > 50  # the scan saw the package, not an empty folder
    uses = private_allennlp_uses(sources, allennlp_names)
    assert uses == [], (
        "private allennlp attributes used outside mtdnn_allennlp/compat/; add a named function "
        "to mtdnn_allennlp/compat/allennlp_internals.py (with the allennlp source line) and "
        "call it instead:\n" + "\n".join(uses)
    )


@pytest.mark.parametrize(
    "source, name",
    [
        ("steps = trainer._num_gradient_accumulation_steps", "_num_gradient_accumulation_steps"),
        ("scaler = getattr(trainer, '_scaler', None)", "_scaler"),
        ("class R:\n    def f(self):\n        return self._worker_info", "_worker_info"),
        ("stub = SimpleNamespace(_use_amp=False)", "_use_amp"),
        ("params._environment_variables = lambda: {}", "_environment_variables"),
    ],
)
def test_the_check_finds_each_form_of_use(allennlp_names, source, name):
    uses = private_allennlp_uses([("example.py", ast.parse(source))], allennlp_names)
    assert uses == [f"example.py:{len(source.splitlines())}: {name}"]


def test_names_the_project_defines_itself_are_not_allennlps(allennlp_names):
    # `_read` is allennlp's (DatasetReader._read), but a reader that overrides it owns the name.
    source = "class R:\n    def _read(self, path):\n        return super()._read(path)"
    assert "_read" in allennlp_names
    assert private_allennlp_uses([("reader.py", ast.parse(source))], allennlp_names) == []


def test_every_adapter_names_its_allennlp_source_line():
    functions = [
        value
        for name, value in vars(allennlp_internals).items()
        if callable(value) and getattr(value, "__module__", "") == allennlp_internals.__name__
    ]
    assert len(functions) >= 10
    for function in functions:
        assert ".py:" in (function.__doc__ or ""), f"{function.__name__} names no source line"
