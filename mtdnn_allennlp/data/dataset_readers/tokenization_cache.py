"""A disk cache of a data file's tokenised instances, shared between runs.

Tokenising SST-2's 67k training sentences costs tens of seconds on every `allennlp train`; the
result only changes when the file, the tokenizer or the reader's settings change. The cache key
is a SHA-256 over all three:

- the bytes of every file the reader reads for the data path (SNLI reads three);
- the bytes of the encoder's tokenizer files (vocab, merges, tokenizer.json, their configs), so
  a different or edited tokenizer never reuses pieces from another;
- the reader's class and the settings that define its output, which each reader declares
  (`TaskReader.CACHE_SETTINGS`, added up along its base classes: max_length, label_map, columns,
  sampling, ...), the task definition, the package version and this module's format number.
  Counters, worker sharding and the cache folder are not settings: a key is the same in every
  process and every run that reads the same data the same way (training, soft targets, ...).

An entry is one file: a header line `mtdnn-tokenisation-cache <format> <sha256> <length>` and a
JSON body. Nothing in it can run code (no pickle): the body lists each example's fields by kind
(word-piece and segment ids as base64 arrays, labels, tensors as flat number lists with dtype
and shape, JSON metadata with tuples marked), and loading rebuilds the allennlp fields from
those values only.
The checksum covers the body, so a damaged, truncated or foreign entry, or one of another format,
is ignored with a warning and rebuilt. Entries are written atomically (a temporary file, then
a rename), so concurrent runs and interrupted writes never leave a half-written entry behind.
"""

import base64
import hashlib
import json
import logging
import sys
from array import array
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

import torch
from allennlp.data import Field, Instance
from allennlp.data.fields import LabelField, ListField, MetadataField, TensorField

from mtdnn_allennlp.common.atomic import atomic_file
from mtdnn_allennlp.common.encoders import resolve_encoder
from mtdnn_allennlp.common.garbage_collection import no_cyclic_gc
from mtdnn_allennlp.compat import allennlp_internals
from mtdnn_allennlp.data.fields import WordPiecesField
from mtdnn_allennlp.data.token_indexers import WordpieceIdsIndexer
from mtdnn_allennlp.version import VERSION

logger = logging.getLogger(__name__)

# Bump when the cached entries change shape, so old entries are ignored rather than misread.
# 2: a list of instances per entry (SQuAD windows); 3: JSON, no pickle; 4: word pieces as id
# arrays (WordPiecesField), without their texts.
CACHE_FORMAT = 4

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
    try:
        # No `default=`: a value without a JSON form (an object, whose repr may hold a memory
        # address) would make a key that never hits again; it is a bug in `cache_settings`.
        text = json.dumps(header, sort_keys=True)
    except TypeError as error:
        raise TypeError(f"a reader's cache settings must be JSON values: {error}") from None
    digest.update(text.encode("utf-8"))
    digest.update(tokenizer_fingerprint(encoder).encode("ascii"))
    return file_digest(data_files, digest).hexdigest()


MAGIC = "mtdnn-tokenisation-cache"


def load_entries(path: Path) -> Optional[List[Any]]:
    """The entries stored at `path`, or None (with a warning) when there are none to trust."""
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as handle:
            header = handle.readline(200).decode("ascii").split()
            body = handle.read()
        if len(header) != 4 or header[0] != MAGIC or header[1] != str(CACHE_FORMAT):
            raise ValueError(f"not a format-{CACHE_FORMAT} entry")
        if int(header[3]) != len(body) or hashlib.sha256(body).hexdigest() != header[2]:
            raise ValueError("checksum mismatch (damaged or truncated)")
        with no_cyclic_gc():
            return [_decode_entry(entry) for entry in json.loads(body.decode("utf-8"))]
    except Exception as error:  # untrusted bytes: any failure means "rebuild", never a crash
        logger.warning("rebuilding unreadable tokenisation cache entry %s: %s", path, error)
        return None


def save_entries(path: Path, entries: List[Any]) -> None:
    try:
        body = json.dumps([_encode_entry(entry) for entry in entries]).encode("utf-8")
    except TypeError as error:  # a field this format does not know: read uncached next time
        logger.warning("not caching %s: %s", path, error)
        return
    header = f"{MAGIC} {CACHE_FORMAT} {hashlib.sha256(body).hexdigest()} {len(body)}\n"
    with atomic_file(path, "wb") as file:
        file.write(header.encode("ascii") + body)


# --- instances as plain values ------------------------------------------------------------------


def _encode_entry(entry: Tuple[Optional[List[Instance]], bool]) -> List[Any]:
    instances, truncated = entry
    if instances is None:
        return [None, bool(truncated)]
    encoded = [{name: _encode_field(field) for name, field in x.fields.items()} for x in instances]
    return [encoded, bool(truncated)]


def _decode_entry(entry: List[Any]) -> Tuple[Optional[List[Instance]], bool]:
    encoded, truncated = entry
    if encoded is None:
        return None, bool(truncated)
    instances = [Instance({name: _decode_field(f) for name, f in x.items()}) for x in encoded]
    return instances, bool(truncated)


def _encode_field(field: Field) -> Dict[str, Any]:
    if isinstance(field, WordPiecesField):
        return {
            "kind": "pieces",
            "ids": _array_text(field.ids),
            "type_ids": _array_text(field.type_ids),
            "pad": field.indexer.pad_token_id,
        }
    if isinstance(field, LabelField):
        label_settings = allennlp_internals.label_field_settings(field)
        return {
            "kind": "label",
            "label": field.label,
            "namespace": label_settings["label_namespace"],
            "skip_indexing": label_settings["skip_indexing"],
        }
    if isinstance(field, TensorField):
        tensor = field.tensor
        return {
            "kind": "tensor",
            "dtype": str(tensor.dtype).replace("torch.", ""),
            "shape": list(tensor.shape),
            "values": tensor.flatten().tolist(),
            "padding_value": field.padding_value,
        }
    if isinstance(field, MetadataField):
        tuples: List[bool] = []
        value = _encode_value(field.metadata, tuples)
        # Most metadata holds no tuple (only texts, numbers, lists): it is read back as JSON
        # gives it, without a walk through every value.
        return {"kind": "metadata", "value": value, "tuples": bool(tuples)}
    if isinstance(field, ListField):
        return {"kind": "list", "fields": [_encode_field(each) for each in field.field_list]}
    raise TypeError(f"field {type(field).__name__}")


_DTYPES = {"float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"}


def _decode_field(value: Dict[str, Any]) -> Field:
    kind = value["kind"]
    if kind == "pieces":
        ids = _array(value["ids"], WordPiecesField.IDS)
        type_ids = _array(value["type_ids"], WordPiecesField.TYPE_IDS)
        return WordPiecesField(ids, type_ids, _indexer(_int(value["pad"])))
    if kind == "label":
        return LabelField(
            value["label"],
            label_namespace=_str(value["namespace"]),
            skip_indexing=bool(value["skip_indexing"]),
        )
    if kind == "tensor":
        if value["dtype"] not in _DTYPES:
            raise ValueError(f"dtype {value['dtype']!r}")
        dtype = getattr(torch, value["dtype"])
        shape = [_int(size) for size in value["shape"]]
        tensor = torch.tensor(value["values"], dtype=dtype).reshape(shape)
        return TensorField(tensor, padding_value=value["padding_value"])
    if kind == "metadata":
        metadata = value["value"]
        return MetadataField(_decode_value(metadata) if value["tuples"] else metadata)
    if kind == "list":
        return ListField([_decode_field(each) for each in value["fields"]])
    raise ValueError(f"field kind {kind!r}")


def _array_text(values: array) -> str:
    """An id array as text: its bytes, little-endian, in base64. JSON reads a string many times
    faster than a list of numbers, and the array is rebuilt from the bytes without a loop."""
    if sys.byteorder == "big":
        values = array(values.typecode, values)
        values.byteswap()
    return base64.b64encode(values.tobytes()).decode("ascii")


def _array(text: Any, typecode: str) -> array:
    values = array(typecode)
    values.frombytes(base64.b64decode(_str(text), validate=True))  # a bad length raises
    if sys.byteorder == "big":
        values.byteswap()
    return values


_INDEXERS: Dict[int, WordpieceIdsIndexer] = {}


def _indexer(pad_token_id: int) -> WordpieceIdsIndexer:
    """One indexer per pad id, shared by every field read from the cache."""
    if pad_token_id not in _INDEXERS:
        _INDEXERS[pad_token_id] = WordpieceIdsIndexer(pad_token_id=pad_token_id)
    return _INDEXERS[pad_token_id]


def _encode_value(value: Any, tuples: List[bool]) -> Any:
    """Metadata as JSON: tuples are marked so that they come back as tuples (and `tuples` gets
    an entry for each)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, tuple):
        tuples.append(True)
        return {"__tuple__": [_encode_value(each, tuples) for each in value]}
    if isinstance(value, list):
        return [_encode_value(each, tuples) for each in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        if "__tuple__" in value:
            raise TypeError("metadata key '__tuple__'")
        return {key: _encode_value(each, tuples) for key, each in value.items()}
    raise TypeError(f"metadata value of type {type(value).__name__}")


def _decode_value(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode_value(each) for each in value]
    if isinstance(value, dict):
        if set(value) == {"__tuple__"}:
            return tuple(_decode_value(each) for each in value["__tuple__"])
        return {key: _decode_value(each) for key, each in value.items()}
    return value


def _int(value: Any) -> int:
    if type(value) is not int:
        raise ValueError(f"{value!r} is not an integer")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a text")
    return value
