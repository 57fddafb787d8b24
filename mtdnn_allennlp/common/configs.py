"""The shipped experiment configs, found from any folder.

The jsonnet files live in the source tree's ``training_config/``; a wheel carries a copy as
``mtdnn_allennlp/configs/`` (``setup.py`` copies it at build time, so the source tree keeps its
layout). Two names reach them from anywhere:

- ``allennlp train mtdnn://glue/rte.jsonnet``: a shipped config by its path under
  ``training_config/``;
- ``import 'mtdnn/tasks.libsonnet'`` and ``import 'mtdnn/experiment.libsonnet'`` inside a user's
  own config, in any folder: the task library and the experiment builder.

Both work through allennlp's ``Params.from_file``, which every command uses: ``install()`` wraps
the two functions it calls (``cached_path`` for the file name, jsonnet's ``evaluate_file`` for the
imports) in ``allennlp.common.params``. See docs/packaging.md.
"""

import os
from pathlib import Path
from typing import Tuple

from allennlp.common.checks import ConfigurationError

SCHEME = "mtdnn://"
LIBRARY_PREFIX = "mtdnn/"
PACKAGED = Path(__file__).resolve().parents[1] / "configs"  # in a wheel
CHECKOUT = Path(__file__).resolve().parents[2] / "training_config"  # in a source checkout


def config_root() -> Path:
    """The folder of the shipped configs: the wheel's copy, else the checkout's."""
    for folder in (PACKAGED, CHECKOUT):
        if (folder / "experiment.libsonnet").is_file():
            return folder
    raise ConfigurationError(
        f"The shipped configs are missing: neither {PACKAGED} (an installed wheel) nor "
        f"{CHECKOUT} (a source checkout) holds experiment.libsonnet. Reinstall mtdnn_allennlp."
    )


def shipped_config(name: str) -> Path:
    """The file `mtdnn://NAME` (or `NAME`) names under the shipped configs."""
    relative = name[len(SCHEME) :] if name.startswith(SCHEME) else name
    root = config_root()
    path = (root / relative).resolve()
    if root.resolve() not in path.parents or not path.is_file():
        shipped = sorted(str(p.relative_to(root)) for p in root.rglob("*.jsonnet"))
        raise ConfigurationError(
            f"'{name}' is not a shipped config. The shipped ones: "
            + ", ".join(f"{SCHEME}{each}" for each in shipped)
        )
    return path


def import_callback(directory: str, relative: str) -> Tuple[str, bytes]:
    """jsonnet's import resolution, plus `mtdnn/...` for the shipped library files."""
    if relative.startswith(LIBRARY_PREFIX):
        path = config_root() / relative[len(LIBRARY_PREFIX) :]
    else:
        path = Path(directory) / relative
    if not path.is_file():
        raise RuntimeError(f"import '{relative}': no file {path}")
    return str(path), path.read_bytes()


def install() -> None:
    """Makes allennlp's Params.from_file take `mtdnn://` names and `mtdnn/` imports."""
    import allennlp.common.params as params

    if getattr(params.cached_path, "takes_mtdnn_names", False):
        return
    original_cached_path = params.cached_path
    original_evaluate_file = params.evaluate_file

    def cached_path(url_or_filename, *args, **kwargs):
        if isinstance(url_or_filename, (str, os.PathLike)) and str(url_or_filename).startswith(
            SCHEME
        ):
            return str(shipped_config(str(url_or_filename)))
        return original_cached_path(url_or_filename, *args, **kwargs)

    def evaluate_file(filename: str, **kwargs) -> str:
        kwargs.setdefault("import_callback", import_callback)
        return original_evaluate_file(filename, **kwargs)

    cached_path.takes_mtdnn_names = True  # type: ignore[attr-defined]
    params.cached_path = cached_path
    params.evaluate_file = evaluate_file
