"""What every reliability case checks: the exit code, a message that says where and how to
fix, and that nothing half-written is left."""

import shutil
from pathlib import Path
from typing import Iterable, List

from tests.conftest import FIXTURES, ROOT, cli_env, run_allennlp

__all__ = ["ROOT", "cli_env", "run_allennlp", "data_copy", "assert_refused", "leftovers"]

HOW_TO_FIX = "How to fix"


def data_copy(tmp_path: Path) -> Path:
    """A private copy of the fixture data, to damage one file of."""
    data = tmp_path / "data"
    shutil.copytree(FIXTURES / "data", data)
    return data


def edit_line(path: Path, number: int, text: str) -> None:
    """Replaces line `number` (1-based) of a text file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def assert_refused(result, *phrases: str, fix: str = HOW_TO_FIX) -> str:
    """A non-zero exit whose stderr holds each phrase and a fix."""
    assert result.returncode != 0, result.stdout[-2000:]
    text = result.stderr
    for phrase in (*phrases, fix):
        assert phrase in text, f"{phrase!r} not in:\n{text[-3000:]}"
    assert "int' and 'NoneType'" not in text  # the loader's length never turned into this
    return text


def leftovers(*folders: Path, patterns: Iterable[str] = ("*.tmp", "tmp*", ".*.tmp")) -> List[Path]:
    """Temporary files or folders left in the given folders."""
    found: List[Path] = []
    for folder in folders:
        if folder.is_dir():
            for pattern in patterns:
                found += folder.glob(pattern)
    return sorted(set(found))
