"""Files and folders that appear whole or not at all.

Each artefact a command writes (soft targets, submission files, ONNX folders, predictions) is
written under a temporary name in the same folder and renamed into place once complete, so an
error or a Ctrl-C part-way leaves the previous state: no truncated file that looks finished.
"""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Iterator, Union

PathLike = Union[str, os.PathLike]


@contextlib.contextmanager
def atomic_file(path: PathLike, mode: str = "w", **open_kwargs) -> Iterator[IO]:
    """An open file that becomes `path` when the block ends without an error."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, mode, **open_kwargs) as file:
            yield file
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


@contextlib.contextmanager
def atomic_folder(path: PathLike) -> Iterator[Path]:
    """A fresh folder whose files are moved into `path` when the block ends without an error.

    `path` may already exist (e.g. a submission folder holding other files): only the files
    written in the block replace their namesakes there, each by a rename.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        yield temporary
        if not target.exists():
            os.replace(temporary, target)
            return
        for entry in sorted(temporary.iterdir()):
            destination = target / entry.name
            if destination.is_dir() and not destination.is_symlink():
                shutil.rmtree(destination)
            os.replace(entry, destination)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
