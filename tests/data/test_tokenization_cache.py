"""The tokenisation cache: a second read reuses the first's instances; any change to the data
file, the tokenizer or the reader's settings tokenises again."""

import hashlib
import json
import logging
import os
import random
import shutil
import subprocess
import sys
from copy import deepcopy
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
import torch
from allennlp.common import Params
from allennlp.data import DatasetReader
from allennlp.data.fields import LabelField, ListField, MetadataField, TensorField

from mtdnn_allennlp.data.dataset_readers import TaskReader, tokenization_cache
from mtdnn_allennlp.data.fields import WordPiecesField
from tests.conftest import cli_env, run_allennlp
from tests.data.test_readers import DATA, FIXTURES, ROOT, library, make_reader, task, tsv

RTE_TRAIN = DATA / "glue" / "RTE" / "train.tsv"


def _ids(instances) -> List[List[int]]:
    return [instance["tokens"].ids.tolist() for instance in instances]


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
    if isinstance(fresh, WordPiecesField):
        assert (fresh.ids, fresh.type_ids) == (cached.ids, cached.type_ids)
        assert fresh.indexer.pad_token_id == cached.indexer.pad_token_id
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


# --- the key: exactly the settings each reader declares -----------------------------------------
# Every reader of the package, with a data file it reads and one setting that changes its
# instances. A key must be the same for two readers built alike (in one process or two), must
# not move with counters or worker sharding, and must change with an output-defining setting.

RTE_SPEC = library()["rte"]
HF_FIELDS = {"sentence1": "premise", "sentence2": "hypothesis"}


def _rte_as_jsonl(folder: Path) -> Path:
    _, rows = tsv(RTE_TRAIN)
    path = folder / "rte.jsonl"
    lines = [
        json.dumps({"id": row[0], "premise": row[1], "hypothesis": row[2], "label": row[3]})
        for row in rows
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _rte_as_mtdnn_tsv(folder: Path) -> Path:
    _, rows = tsv(RTE_TRAIN)
    path = folder / "rte_mtdnn.tsv"
    # uid, label, premise, hypothesis
    lines = ["\t".join([row[0], row[3], row[1], row[2]]) + "\n" for row in rows]
    path.write_text("".join(lines), encoding="utf-8")
    return path


# name: (task, reader layout (None: the task library's), data path (a folder -> path), setting
# that changes the instances)
READER_CASES: Dict[str, Tuple[str, Optional[Dict[str, Any]], Any, Dict[str, Any]]] = {
    "glue_tsv": ("rte", None, RTE_TRAIN, {"max_length": 32}),
    "delimited": (
        "rte",
        {**RTE_SPEC["reader"], "type": "mtdnn_delimited", "separator": "\t", "quoting": False},
        RTE_TRAIN,
        {"label_map": {"entailment": "not_entailment"}},
    ),
    "regex": ("trec", None, DATA / "trec" / "train_5500.label", {"errors": "replace"}),
    "conll": ("conll2003", None, DATA / "ner" / "CoNLL2003" / "train.txt", {"token_column": 1}),
    "jsonl": ("rte", {"type": "mtdnn_jsonl"}, _rte_as_jsonl, {"sample_size": 5}),
    "mtdnn_tsv": ("rte", {"type": "mtdnn_tsv"}, _rte_as_mtdnn_tsv, {"sample_seed": 3}),
    # The rest of a sample (a held-out part of a training file) is other instances.
    "held_out": (
        "rte",
        {**RTE_SPEC["reader"], "sample_size": 5},
        RTE_TRAIN,
        {"sample_held_out": True},
    ),
    "hf_dataset": (
        "rte",
        {"type": "mtdnn_hf_dataset", "field_map": HF_FIELDS},
        DATA / "hf" / "rte",
        {"split": "validation"},
    ),
    "multiple_choice": (
        "everyday_mc",
        None,
        DATA / "multiple_choice" / "train.jsonl",
        {"max_length": 24},
    ),
    "cloze": (
        "everyday_cloze",
        None,
        DATA / "multiple_choice" / "cloze_train.jsonl",
        {"max_length": 20},
    ),
    "snli_parallel": ("snli", None, DATA / "nli" / "SNLI" / "s1.dev", {"max_length": 16}),
    "squad": ("squad_v2", None, DATA / "squad" / "train-v2.0.json", {"doc_stride": 64}),
    "grouped_pairs": (
        "qnli_ranking",
        None,
        DATA / "glue" / "QNLI" / "dev.tsv",
        {"min_candidates": 3},
    ),
    "masked_lm_text": ("mlm", None, DATA / "text" / "train.txt", {"max_length": 16}),
    "masked_lm_sources": (
        "mlm",
        {"type": "mtdnn_masked_lm_text", "sources": {"rte": RTE_SPEC}},
        json.dumps({"rte": str(RTE_TRAIN)}),
        {"sources": {"rte": {**RTE_SPEC, "reader": {**RTE_SPEC["reader"], "sample_size": 5}}}},
    ),
    "next_sentence": ("nsp", None, DATA / "text" / "documents_train.txt", {"pairing_seed": 7}),
}


def case_reader(name: str, cache: Path, **changed: Any) -> TaskReader:
    task_name, layout, _, _ = READER_CASES[name]
    definition = task(task_name, **({"reader": layout} if layout is not None else {}))
    settings = {**deepcopy(definition.reader), **changed}
    kwargs = {"max_length": 384} if task_name.startswith("squad") else {}
    kwargs.update({key: settings.pop(key) for key in list(settings) if key in TASK_READER_ARGS})
    reader = DatasetReader.from_params(
        Params(settings),
        task=definition,
        encoder=str(FIXTURES / "tiny_bert"),
        cache_directory=str(cache),
        **kwargs,
    )
    assert isinstance(reader, TaskReader)
    return reader


# TaskReader's own constructor settings, passed as keywords rather than in the layout.
TASK_READER_ARGS = {
    "max_length",
    "label_map",
    "sample_size",
    "sample_seed",
    "sample_held_out",
    "skip_invalid",
}


def case_path(name: str, folder: Path) -> str:
    path = READER_CASES[name][2]
    return str(path(folder) if callable(path) else path)


def _entries(cache: Path) -> List[str]:
    return sorted(path.name for path in cache.glob("*.json"))


def _read_case(reader: TaskReader, path: str, caplog) -> Tuple[int, int]:
    """(instances, files read from the cache) of one read."""
    caplog.clear()
    with caplog.at_level(logging.INFO):
        count = sum(1 for _ in reader.read(path))
    return count, caplog.text.count("tokenised instances from cache")


@pytest.mark.parametrize("name", sorted(READER_CASES))
def test_two_readers_built_alike_share_their_entries(name, tmp_path, caplog):
    cache, path = tmp_path / "cache", case_path(name, tmp_path)
    count, hits = _read_case(case_reader(name, cache), path, caplog)
    written = _entries(cache)
    assert count > 0 and hits == 0 and written
    # A second reader, reading whole files as the multi-task loader makes it (sharding off).
    second = case_reader(name, cache)
    second.read_whole_files()
    again, hits_again = _read_case(second, path, caplog)
    assert (again, hits_again) == (count, len(written))
    assert _entries(cache) == written
    # The same reader once more: its counters moved during the reads, the key did not.
    _, hits_third = _read_case(second, path, caplog)
    assert hits_third == len(written) and _entries(cache) == written


@pytest.mark.parametrize("name", sorted(READER_CASES))
def test_a_setting_that_changes_the_instances_changes_the_key(name, tmp_path, caplog):
    cache, path = tmp_path / "cache", case_path(name, tmp_path)
    _read_case(case_reader(name, cache), path, caplog)
    before = _entries(cache)
    changed = READER_CASES[name][3]
    assert changed, f"case {name} names no setting to change"
    _, hits = _read_case(case_reader(name, cache, **deepcopy(changed)), path, caplog)
    assert hits == 0
    assert len(_entries(cache)) == 2 * len(before)


def test_settings_are_json_values_without_memory_addresses(tmp_path):
    for name in READER_CASES:
        settings = case_reader(name, tmp_path).cache_settings()
        text = json.dumps(settings, sort_keys=True)  # raises on anything without a JSON form
        assert " at 0x" not in text and "object" not in text, name


def test_a_value_without_a_json_form_is_refused_not_repr_ed(workdir):
    with pytest.raises(TypeError, match="cache settings must be JSON values"):
        tokenization_cache.cache_key([RTE_TRAIN], str(workdir / "encoder"), {"x": object()})


# Attributes a reader keeps that do not define its instances: what it counts, where the cache
# is, the task (in the key by its definition), the encoder (its tokenizer files are hashed),
# allennlp's own settings (max_instances is in the key as the entry's `limit`), worker
# sharding, and derived or helper objects.
NOT_OUTPUT_SETTINGS = {
    "truncated",
    "skipped",
    "read_count",
    "left_out",
    "answers_total",
    "answers_mismatched",
    "questions_without_answer",
    "mismatched_ids",
    "cache_directory",
    "task",
    "encoder_name",
    "max_instances",
    "manual_distributed_sharding",
    "manual_multiprocess_sharding",
    "serialization_dir",
    "shard_by_worker",
    "compiled",  # RegexReader: its `pattern`, compiled
    "sources",  # masked LM: the source being read and its reader's settings are in the key
}


@pytest.mark.parametrize("name", sorted(READER_CASES))
def test_every_reader_setting_is_declared_or_known_not_to_define_the_output(name, tmp_path):
    reader = case_reader(name, tmp_path)
    list(reader.read(case_path(name, tmp_path)))  # counters exist once a file was read
    declared = set(reader.cache_settings())
    public = {key for key in vars(reader) if not key.startswith("_")}
    undeclared = public - declared - NOT_OUTPUT_SETTINGS
    assert not undeclared, (
        f"{type(reader).__name__} keeps {sorted(undeclared)}: add each to its class's "
        "CACHE_SETTINGS if it changes the instances read, else to NOT_OUTPUT_SETTINGS here"
    )


def _keys_in_a_fresh_process(cache: Path, folder: Path) -> Dict[str, int]:
    """Reads every case in another Python process; returns its cache hits per case."""
    script = (
        "import json, logging, sys\n"
        "from pathlib import Path\n"
        "from tests.data.test_tokenization_cache import READER_CASES, case_path, case_reader\n"
        "cache, folder = Path(sys.argv[1]), Path(sys.argv[2])\n"
        "hits = {}\n"
        "class Count(logging.Handler):\n"
        "    def emit(self, record):\n"
        "        if 'tokenised instances from cache' in record.getMessage():\n"
        "            hits[current] = hits.get(current, 0) + 1\n"
        "logging.getLogger().addHandler(Count())\n"
        "logging.getLogger().setLevel(logging.INFO)\n"
        "for current in sorted(READER_CASES):\n"
        "    hits.setdefault(current, 0)\n"
        "    list(case_reader(current, cache).read(case_path(current, folder)))\n"
        "print(json.dumps(hits))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(cache), str(folder)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_entries_written_in_one_process_are_hit_in_another(tmp_path, caplog):
    cache = tmp_path / "cache"
    written = {}
    for name in sorted(READER_CASES):
        before = set(_entries(cache))
        _read_case(case_reader(name, cache), case_path(name, tmp_path), caplog)
        written[name] = len(set(_entries(cache)) - before)
    total = _entries(cache)
    assert _keys_in_a_fresh_process(cache, tmp_path) == written
    assert _entries(cache) == total  # nothing was tokenised again


@pytest.mark.slow
def test_soft_targets_reads_the_entries_that_training_wrote(tmp_path):
    """`allennlp train` with MTDNN_CACHE set tokenises RTE's files into the cache; `allennlp
    soft-targets` on the archive then reads the training file from it (the loader reads whole
    files and soft-targets does not: sharding is not part of the key)."""
    cache, run = tmp_path / "cache", tmp_path / "run"
    env = cli_env(MTDNN_SMOKE="1", MTDNN_CACHE=str(cache))
    run_allennlp(["train", "training_config/glue/rte.jsonnet", "-s", str(run)], env=env)
    after_training = _entries(cache)
    assert len(after_training) == 2  # the train and dev files
    result = run_allennlp(
        ["soft-targets", str(run / "model.tar.gz"), str(RTE_TRAIN)]
        + ["--output-file", str(tmp_path / "soft.jsonl")],
        env=env,
    )
    assert _entries(cache) == after_training  # nothing tokenised again
    assert "task rte: tokenised instances from cache" in result.stderr
    assert (tmp_path / "soft.jsonl").read_text().count("\n") == 16  # MTDNN_SMOKE's 16 examples
