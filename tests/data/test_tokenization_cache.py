"""The tokenisation cache: a second read reuses the first's instances; any change to the data
file, the tokenizer or the reader's settings tokenises again."""

import logging
import shutil
from copy import deepcopy
from pathlib import Path
from typing import List

import pytest
from allennlp.common import Params
from allennlp.data import DatasetReader

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
    assert len(list((workdir / "cache").glob("rte-*.pkl"))) == 1
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
    assert len(list((workdir / "cache").glob("rte-*.pkl"))) == 2


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
    (entry,) = (workdir / "cache").glob("rte-*.pkl")
    entry.write_bytes(b"not a pickle")
    again, hit = _read(_reader(workdir), workdir / "RTE.tsv", caplog)
    assert not hit and again
    assert "ignoring unreadable tokenisation cache" in caplog.text
