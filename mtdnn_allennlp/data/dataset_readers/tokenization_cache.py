"""A disk cache of a data file's tokenised instances, shared between runs.

Tokenising SST-2's 67k training sentences costs tens of seconds on every `allennlp train`; the
result only changes when the file, the tokenizer or the reader's settings change. The cache key
is a SHA-256 over all three:

- the bytes of every file the reader reads for the data path (SNLI reads three);
- the bytes of the encoder's tokenizer files (vocab, merges, tokenizer.json, their configs), so
  a different or edited tokenizer never reuses pieces from another;
- the reader's class and settings (task definition, max_length, label_map, columns, sampling,
  ...), the package version and this module's format number.

Entries are pickled lists written atomically (a temporary file, then a rename), so concurrent
runs and interrupted writes never leave a half-written entry behind.
"""

import hashlib
import json
import logging
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any, Iterable, List, Optional

from mtdnn_allennlp.common.encoders import resolve_encoder
from mtdnn_allennlp.version import VERSION

logger = logging.getLogger(__name__)

# Bump when the cached entries change shape, so old entries are ignored rather than misread.
CACHE_FORMAT = 2  # 2: an entry holds a list of instances (SQuAD windows)

# Files that define how a tokenizer splits text, across BERT, RoBERTa, SentencePiece models.
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "spiece.model",
    "sentencepiece.bpe.model",
    "spm.model",
)


def file_digest(paths: Iterable[Path], digest: Optional[Any] = None) -> Any:
    digest = digest or hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode("utf-8") + b"\0")
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        digest.update(b"\0")
    return digest


def tokenizer_fingerprint(encoder: str) -> str:
    """A hash of the encoder's tokenizer files (not its weights: they do not change the ids)."""
    folder = Path(resolve_encoder(encoder))
    files = sorted(folder / name for name in TOKENIZER_FILES if (folder / name).is_file())
    if not files:
        raise FileNotFoundError(f"no tokenizer files ({', '.join(TOKENIZER_FILES)}) in {folder}")
    return file_digest(files).hexdigest()


def cache_key(data_files: List[Path], encoder: str, settings: Any) -> str:
    digest = hashlib.sha256()
    header = {"format": CACHE_FORMAT, "version": VERSION, "settings": settings}
    digest.update(json.dumps(header, sort_keys=True, default=repr).encode("utf-8"))
    digest.update(tokenizer_fingerprint(encoder).encode("ascii"))
    return file_digest(data_files, digest).hexdigest()


def load_entries(path: Path) -> Optional[List[Any]]:
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError) as error:
        # A damaged or outdated entry is rebuilt, not fatal.
        logger.warning("ignoring unreadable tokenisation cache %s: %s", path, error)
        return None


def save_entries(path: Path, entries: List[Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            pickle.dump(entries, file, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
