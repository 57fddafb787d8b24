"""The tokenisation cache: a second read reuses the first's instances; any change to the data
file, the tokenizer or the reader's settings tokenises again."""

import hashlib
import logging
import random
import shutil
from copy import deepcopy
from pathlib import Path
from typing import List

import pytest
import torch
from allennlp.common import Params
from allennlp.data import DatasetReader
from allennlp.data.fields import LabelField, ListField, MetadataField, TensorField, TextField

from mtdnn_allennlp.data.dataset_readers import TaskReader, tokenization_cache
from tests.data.test_readers import DATA, FIXTURES, make_reader, task

RTE_TRAIN = DATA / "glue" / "RTE" / "train.tsv"


def _ids(instances) -> List[List[int]]:
    return [[token.text_id for token in instance["tokens"].tokens] for instance in instances]


def _read(reader, path: Path, caplog) -> tuple:
    caplog.clear()
    with caplog.at_level(logging.INFO):
        instances = list(reader.read(str(path)))
    hit = "tokenised instances from cache" in caplog.text
    return instances, hit


@pytest.fixture
def workdir(tmp_path) -> Path:
    data = tmp_path / "RTE.tsv"
    shutil.copy(RTE_TRAIN, data)
    encoder = tmp_path / "encoder"
    shutil.copytree(FIXTURES / "tiny_bert", encoder)
    return tmp_path


def _reader(workdir: Path, **kwargs) -> TaskReader:
    definition = task("rte")
    reader = DatasetReader.from_params(
        Params(deepcopy(definition.reader)),
        task=definition,
        encoder=str(workdir / "encoder"),
        cache_directory=str(workdir / "cache"),
        **kwargs,
    )
    assert isinstance(reader, TaskReader)
    return reader


def test_second_read_comes_from_the_cache_with_the_same_instances(workdir, caplog):
    uncached = list(make_reader("rte").read(str(workdir / "RTE.tsv")))
    first, first_hit = _read(_reader(workdir), workdir / "RTE.tsv", caplog)
    second, second_hit = _read(_reader(workdir), workdir / "RTE.tsv", caplog)
    assert (first_hit, second_hit) == (False, True)
    assert len(list((workdir / "cache").glob("rte-*.json"))) == 1
    assert _ids(second) == _ids(first) == _ids(uncached)
    assert [i["label"].label for i in second] == [i["label"].label for i in uncached]
    assert [i["metadata"].metadata for i in second] == [i["metadata"].metadata for i in uncached]


def test_a_changed_data_file_is_tokenised_again(workdir, caplog):
    _read(_reader(workdir), workdir / "RTE.tsv", caplog)
    lines = (workdir / "RTE.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
    # Same row count, one word changed: a key built from size or mtime alone could miss it.
    first_row = lines[1].split("\t")
    first_row[1] = first_row[1].replace(first_row[1].split()[0], "Zebras", 1)
    lines[1] = "\t".join(first_row)
    (workdir / "RTE.tsv").write_text("".join(lines), encoding="utf-8")
    changed, hit = _read(_reader(workdir), workdir / "RTE.tsv", caplog)
    assert not hit
    assert changed[0]["metadata"].metadata["premise"].startswith("Zebras")
    assert len(list((workdir / "cache").glob("rte-*.json"))) == 2


def test_a_changed_tokenizer_is_tokenised_again(workdir, caplog):
    before, _ = _read(_reader(workdir), workdir / "RTE.tsv", caplog)
    vocab = workdir / "encoder" / "vocab.txt"
    vocab.write_text(vocab.read_text(encoding="utf-8") + "zebrafishes\n", encoding="utf-8")
    tokenization_cache.resolve_encoder.cache_clear()
    _, hit = _read(_reader(workdir), workdir / "RTE.tsv", caplog)
    assert not hit
    assert before


def test_changed_reader_settings_are_tokenised_again(workdir, caplog):
    _read(_reader(workdir), workdir / "RTE.tsv", caplog)
    shorter, hit = _read(_reader(workdir, max_length=16), workdir / "RTE.tsv", caplog)
    assert not hit
    assert max(len(each["tokens"]) for each in shorter) <= 16
    _, hit_again = _read(_reader(workdir, max_length=16), workdir / "RTE.tsv", caplog)
    assert hit_again


def test_max_instances_reads_a_prefix_and_keys_separately(workdir, caplog):
    few, _ = _read(_reader(workdir, max_instances=3), workdir / "RTE.tsv", caplog)
    everything, hit = _read(_reader(workdir), workdir / "RTE.tsv", caplog)
    assert not hit
    assert len(few) == 3 and len(everything) > 3
    assert _ids(few) == _ids(everything)[:3]


def test_the_key_covers_file_tokenizer_and_settings(workdir):
    files = [workdir / "RTE.tsv"]
    encoder = str(workdir / "encoder")
    key = tokenization_cache.cache_key(files, encoder, {"max_length": 128})
    assert key == tokenization_cache.cache_key(files, encoder, {"max_length": 128})
    assert key != tokenization_cache.cache_key(files, encoder, {"max_length": 64})
    (workdir / "other.tsv").write_bytes((workdir / "RTE.tsv").read_bytes() + b"\n")
    assert key != tokenization_cache.cache_key(
        [workdir / "other.tsv"], encoder, {"max_length": 128}
    )


def test_an_unreadable_entry_is_rebuilt(workdir, caplog):
    reader = _reader(workdir)
    _read(reader, workdir / "RTE.tsv", caplog)
    (entry,) = (workdir / "cache").glob("rte-*.json")
    entry.write_bytes(b"not a cache entry")
    again, hit = _read(_reader(workdir), workdir / "RTE.tsv", caplog)
    assert not hit and again
    assert "rebuilding unreadable tokenisation cache entry" in caplog.text


# --- the format: no pickle, every entry checked ------------------------------------------------

CACHED_TASKS = {
    "rte": DATA / "glue" / "RTE" / "train.tsv",
    "stsb": DATA / "glue" / "STS-B" / "train.tsv",
    "conll2003": DATA / "ner" / "CoNLL2003" / "train.txt",
    "squad_v2": DATA / "squad" / "train-v2.0.json",
    "qnli_ranking": DATA / "glue" / "QNLI" / "dev.tsv",
    "everyday_mc": DATA / "multiple_choice" / "train.jsonl",
}


def _task_reader(name: str, cache: Path) -> TaskReader:
    definition = task(name)
    reader = DatasetReader.from_params(
        Params(deepcopy(definition.reader)),
        task=definition,
        encoder=str(FIXTURES / "tiny_bert"),
        cache_directory=str(cache),
        max_length=384 if name.startswith("squad") else 64,
    )
    assert isinstance(reader, TaskReader)
    return reader


def _same_field(fresh, cached) -> None:
    assert type(fresh) is type(cached)
    if isinstance(fresh, TextField):
        assert [(t.text, t.text_id, t.type_id) for t in fresh.tokens] == [
            (t.text, t.text_id, t.type_id) for t in cached.tokens
        ]
        assert {k: v._pad_token_id for k, v in fresh.token_indexers.items()} == {
            k: v._pad_token_id for k, v in cached.token_indexers.items()
        }
    elif isinstance(fresh, TensorField):
        assert fresh.tensor.dtype == cached.tensor.dtype
        assert torch.equal(fresh.tensor, cached.tensor)
        assert fresh.padding_value == cached.padding_value
    elif isinstance(fresh, LabelField):
        assert (fresh.label, fresh._label_namespace, fresh._skip_indexing) == (
            cached.label,
            cached._label_namespace,
            cached._skip_indexing,
        )
    elif isinstance(fresh, MetadataField):
        assert _typed(fresh.metadata) == _typed(cached.metadata)
    elif isinstance(fresh, ListField):
        assert len(fresh.field_list) == len(cached.field_list)
        for a, b in zip(fresh.field_list, cached.field_list, strict=True):
            _same_field(a, b)
    else:
        raise AssertionError(f"field type {type(fresh).__name__} not compared")


def _typed(value):
    """A value with every container's type spelt out: a tuple read back as a list differs."""
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_typed(each) for each in value])
    if isinstance(value, dict):
        return {key: _typed(each) for key, each in value.items()}
    return (type(value).__name__, value)


@pytest.mark.parametrize("name", sorted(CACHED_TASKS))
def test_instances_from_the_cache_equal_a_fresh_read(name, tmp_path, caplog):
    path = CACHED_TASKS[name]
    uncached = _task_reader(name, tmp_path / "unused")
    uncached.cache_directory = None
    fresh = list(uncached.read(str(path)))
    first, first_hit = _read(_task_reader(name, tmp_path / "cache"), path, caplog)
    cached, hit = _read(_task_reader(name, tmp_path / "cache"), path, caplog)
    assert (first_hit, hit) == (False, True)
    assert fresh and len(cached) == len(fresh)
    for a, b in zip(fresh, cached, strict=True):
        assert sorted(a.fields) == sorted(b.fields)
        for field_name in a.fields:
            _same_field(a.fields[field_name], b.fields[field_name])
    entry = next((tmp_path / "cache").iterdir()).read_bytes()
    assert entry.startswith(b"mtdnn-tokenisation-cache ") and b"pickle" not in entry


def test_damaged_entries_are_rebuilt_and_never_raise(workdir, caplog):
    """Truncations and single-byte flips over a real entry: each load returns the entries or
    None (rebuild), and a rebuild after damage reads the same instances."""
    reader = _reader(workdir)
    original, _ = _read(reader, workdir / "RTE.tsv", caplog)
    (entry,) = (workdir / "cache").glob("rte-*.json")
    good = entry.read_bytes()
    rng = random.Random(0)
    damaged = [good[:cut] for cut in sorted(rng.sample(range(len(good)), 40))]
    for position in rng.sample(range(len(good)), 150):
        flipped = bytearray(good)
        flipped[position] ^= 1 << rng.randrange(8)
        damaged.append(bytes(flipped))
    for data in damaged:
        entry.write_bytes(data)
        assert tokenization_cache.load_entries(entry) is None  # the checksum catches every one
    entry.write_bytes(damaged[0])
    again, hit = _read(_reader(workdir), workdir / "RTE.tsv", caplog)
    assert not hit and "rebuilding unreadable tokenisation cache entry" in caplog.text
    assert _ids(again) == _ids(original)
    assert entry.read_bytes() == good  # rebuilt in place


def test_a_valid_checksum_over_a_wrong_shape_is_rebuilt(workdir, caplog):
    """An entry written by someone else with a correct checksum but the wrong content (what a
    pickle could have turned into code) is only data here: refused, then rebuilt."""
    _read(_reader(workdir), workdir / "RTE.tsv", caplog)
    (entry,) = (workdir / "cache").glob("rte-*.json")
    for body in (b"[[5, true]]", b'{"a": 1}', b'[[[{"tokens": {"kind": "exec"}}], false]]'):
        digest = hashlib.sha256(body).hexdigest()
        header = f"mtdnn-tokenisation-cache {tokenization_cache.CACHE_FORMAT} {digest} "
        entry.write_bytes(header.encode() + str(len(body)).encode() + b"\n" + body)
        assert tokenization_cache.load_entries(entry) is None
    again, hit = _read(_reader(workdir), workdir / "RTE.tsv", caplog)
    assert not hit and again
