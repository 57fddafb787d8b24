"""The multi-task data loader and its task samplers, on the fixture samples."""

import json
import random
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any, Dict, List, Tuple

import _jsonnet
import pytest
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.common.util import import_module_and_submodules
from allennlp.data import Vocabulary

from mtdnn_allennlp.data.data_loaders import MultiTaskDataLoader, TaskSampler
from mtdnn_allennlp.data.data_loaders.multitask_data_loader import split_for_workers
from mtdnn_allennlp.data.data_loaders.samplers import (
    MainTaskRatioSampler,
    ProportionalSampler,
    TemperatureSampler,
    UniformSampler,
)
from mtdnn_allennlp.data.dataset_readers import MultiTaskReader
from mtdnn_allennlp.tasks import TaskDefinition

import_module_and_submodules("mtdnn_allennlp")

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
DATA = FIXTURES / "data"
TINY_BERT = str(FIXTURES / "tiny_bert")
PATHS = {
    "rte": str(DATA / "glue" / "RTE" / "train.tsv"),  # 64 rows
    "sst2": str(DATA / "glue" / "SST-2" / "train.tsv"),  # 64 rows
    "cola": str(DATA / "glue" / "CoLA" / "dev.tsv"),  # 32 rows
}
ROWS = {"rte": 64, "sst2": 64, "cola": 32}


@cache
def _library_text() -> str:
    return _jsonnet.evaluate_file(
        str(ROOT / "training_config" / "tasks.libsonnet"), ext_vars={"MTDNN_DATA": str(DATA)}
    )


@cache
def reader(*names: str) -> MultiTaskReader:
    library = json.loads(_library_text())
    tasks = [TaskDefinition.from_params(Params(library[name])) for name in names]
    return MultiTaskReader(tasks, encoder=TINY_BERT)


def loader(*names: str, **kwargs: Any) -> MultiTaskDataLoader:
    built = MultiTaskDataLoader(reader(*names), {n: PATHS[n] for n in names}, **kwargs)
    built.index_with(Vocabulary())
    return built


Key = Tuple[str, Any, str]  # task, id, premise


def keys(batch: Dict[str, Any]) -> List[Key]:
    return [(m["task"], m["id"], m["premise"]) for m in batch["metadata"]]


def epoch(built: MultiTaskDataLoader) -> List[List[Key]]:
    return [keys(batch) for batch in built]


def file_keys(name: str) -> List[Key]:
    rows = [line.split("\t") for line in Path(PATHS[name]).read_text("utf-8").splitlines()]
    if name == "cola":  # no header: source, label, mark, sentence; the id: the line number
        return [(name, number, row[3]) for number, row in enumerate(rows, start=1)]
    if name == "sst2":  # sentence, label; no id column: the line number
        return [(name, number, row[0]) for number, row in enumerate(rows[1:], start=2)]
    return [(name, row[0], row[1]) for row in rows[1:]]  # rte: index, sentence1, ...


def test_batches_are_single_task_and_cover_every_instance_once():
    built = loader("rte", "sst2", "cola", batch_size=8)
    batches = list(built)
    for batch in batches:
        assert len(set(batch["task"])) == 1
        assert {m["task"] for m in batch["metadata"]} == set(batch["task"])
    seen = Counter(key for batch in batches for key in keys(batch))
    expected = [key for name in ROWS for key in file_keys(name)]
    assert len(expected) == len(set(expected)) == sum(ROWS.values())
    assert set(seen) == set(expected)
    assert set(seen.values()) == {1}
    assert sum(len(b["task"]) for b in batches) == sum(ROWS.values())
    # tasks interleave: not all of one task's batches first
    order = [b["task"][0] for b in batches]
    assert order != sorted(order, key=order.index)


def test_tensors_of_a_batch():
    batch = next(iter(loader("rte", batch_size=4, shuffle=False, sort_by_length=False)))
    tokens = batch["tokens"]["tokens"]
    assert set(tokens) == {"token_ids", "mask", "type_ids"}
    assert tokens["token_ids"].shape == tokens["mask"].shape == (4, tokens["mask"].shape[1])
    rows = [line.split("\t") for line in Path(PATHS["rte"]).read_text("utf-8").splitlines()]
    gold = {row[0]: ["entailment", "not_entailment"].index(row[3]) for row in rows[1:]}
    assert batch["label"].tolist() == [gold[m["id"]] for m in batch["metadata"]]
    # padded positions carry the pad id (0 for BERT) and the mask is off there
    padded = ~tokens["mask"]
    assert padded.any()  # the first four rows of the file differ in length
    assert (tokens["token_ids"][padded] == 0).all()


def test_same_seed_same_batches_and_epochs_differ():
    first = loader("rte", "cola", batch_size=8, seed=7)
    second = loader("rte", "cola", batch_size=8, seed=7)
    epoch_1 = epoch(first)
    assert epoch_1 == epoch(second)
    epoch_2 = epoch(first)
    assert epoch_2 != epoch_1
    assert sorted(k for b in epoch_2 for k in b) == sorted(k for b in epoch_1 for k in b)
    assert epoch(second) == epoch_2  # the second loader's epoch 2 as well
    assert epoch(loader("rte", "cola", batch_size=8, seed=8)) != epoch_1


def test_the_schedule_is_built_once_per_epoch_however_often_len_is_asked(monkeypatch):
    built = loader("rte", "cola", batch_size=8, seed=7)
    calls = []
    original = built._epoch_batches
    monkeypatch.setattr(built, "_epoch_batches", lambda e: calls.append(e) or original(e))
    length = len(built)
    seen = []
    for batch in built:  # the trainer and the adversarial callback ask on every batch
        seen.append(keys(batch))
        assert len(built) >= 1
    assert len(seen) == length and calls == [0, 1]  # epoch 0, then len() asks for epoch 1
    assert seen == epoch(loader("rte", "cola", batch_size=8, seed=7))  # the same batches
    epoch(built)  # epoch 1 reuses the schedule that len() built during epoch 0
    assert calls == [0, 1]


def test_no_shuffle_keeps_file_order():
    built = loader("rte", "sst2", batch_size=5, shuffle=False, sort_by_length=False)
    for _ in range(2):  # every epoch
        batches = epoch(built)
        for name in ("rte", "sst2"):
            assert [k for batch in batches for k in batch if k[0] == name] == file_keys(name)


def test_per_task_batch_sizes():
    built = loader("rte", "cola", batch_size={"rte": 5, "cola": 8})
    sizes: Dict[str, List[int]] = {"rte": [], "cola": []}
    for batch in built:
        sizes[batch["task"][0]].append(len(batch["task"]))
    assert sorted(sizes["rte"]) == [4] + [5] * 12  # 64 = 12 * 5 + 4
    assert sizes["cola"] == [8] * 4


def test_drop_last_and_missing_batch_size():
    built = loader("rte", batch_size=5, drop_last=True)
    assert [len(b["task"]) for b in built] == [5] * 12
    with pytest.raises(ConfigurationError, match=r"no size for tasks \['cola'\]"):
        loader("rte", "cola", batch_size={"rte": 4})


def padded_positions(built: MultiTaskDataLoader) -> int:
    total = 0
    for batch in built:
        mask = batch["tokens"]["tokens"]["mask"]
        total += int(mask.numel() - mask.sum())
    return total


def test_sort_by_length_reduces_padding():
    unsorted = padded_positions(loader("rte", batch_size=8, sort_by_length=False, seed=3))
    by_length = padded_positions(loader("rte", batch_size=8, sort_by_length=True, seed=3))
    assert by_length < unsorted / 2
    # sorted within the pool: each batch's lengths are a contiguous run of the sorted lengths
    lengths = []
    for batch in loader("rte", batch_size=8, sort_by_length=True, seed=3):
        lengths.append(sorted(batch["tokens"]["tokens"]["mask"].sum(1).tolist()))
    lengths.sort()
    flat = [x for run in lengths for x in run]
    assert flat == sorted(flat)


@pytest.mark.parametrize(
    "sampler",
    [None, UniformSampler(batches_per_epoch=7), TemperatureSampler(temperature=3.0)],
    ids=["proportional", "uniform", "temperature"],
)
def test_len_is_the_number_of_batches(sampler):
    built = loader("rte", "cola", batch_size=4, sampler=sampler)
    for _ in range(2):
        expected = len(built)
        assert sum(1 for _ in built) == expected
    assert expected == (7 if isinstance(sampler, UniformSampler) else 64 // 4 + 32 // 4)


def test_iterating_needs_a_vocabulary():
    built = MultiTaskDataLoader(reader("rte"), PATHS["rte"])
    with pytest.raises(ValueError, match="index_with"):
        next(iter(built))


def test_samplers_are_registered():
    assert isinstance(TaskSampler.from_params(Params({})), ProportionalSampler)
    uniform = TaskSampler.from_params(Params({"type": "uniform", "batches_per_epoch": 3}))
    assert isinstance(uniform, UniformSampler) and uniform.batches_per_epoch == 3
    temperature = TaskSampler.from_params(Params({"type": "temperature", "temperature": 5}))
    assert isinstance(temperature, TemperatureSampler) and temperature.temperature == 5


# --- task frequencies -----------------------------------------------------------------------

BATCHES = {"big": 90, "small": 10}
DRAWS = 20000


def share_of_big(sampler: TaskSampler, epoch_number: int = 0, seed: int = 11) -> float:
    schedule = sampler.schedule(dict(BATCHES), random.Random(seed), epoch_number)
    assert len(schedule) == DRAWS
    assert set(schedule) == set(BATCHES)
    return schedule.count("big") / DRAWS


def test_proportional_schedule_is_each_batch_once():
    schedule = ProportionalSampler().schedule(dict(BATCHES), random.Random(0), 0)
    assert Counter(schedule) == Counter(BATCHES)
    assert schedule != sorted(schedule)


def test_uniform_frequencies():
    assert share_of_big(UniformSampler(batches_per_epoch=DRAWS)) == pytest.approx(0.5, abs=0.015)
    # the default length: all tasks' batches
    assert len(UniformSampler().schedule(dict(BATCHES), random.Random(0), 0)) == 100


@pytest.mark.parametrize(
    "temperature, expected",
    [
        (1.0, 0.9),  # proportional: 90 / (90 + 10)
        (2.0, 0.75),  # sqrt(90) / (sqrt(90) + sqrt(10)) = 3 / 4
        (1000.0, 0.5),  # 90 ** 0.001 / (90 ** 0.001 + 10 ** 0.001) = 0.50055: uniform
    ],
)
def test_temperature_frequencies(temperature, expected):
    sampler = TemperatureSampler(temperature=temperature, batches_per_epoch=DRAWS)
    assert share_of_big(sampler) == pytest.approx(expected, abs=0.015)


def test_temperature_annealing():
    sampler = TemperatureSampler(
        temperature=1.0, final_temperature=1000.0, anneal_epochs=4, batches_per_epoch=DRAWS
    )
    assert [sampler.temperature_at(e) for e in (0, 1, 2, 4, 9)] == pytest.approx(
        [1.0, 250.75, 500.5, 1000.0, 1000.0]
    )
    assert share_of_big(sampler, epoch_number=0) == pytest.approx(0.9, abs=0.015)
    assert share_of_big(sampler, epoch_number=4) == pytest.approx(0.5, abs=0.015)
    assert share_of_big(sampler, epoch_number=20) == pytest.approx(0.5, abs=0.015)
    constant = TemperatureSampler(temperature=2.0, anneal_epochs=4)
    assert [constant.temperature_at(e) for e in (0, 3, 10)] == [2.0, 2.0, 2.0]


def test_temperature_must_be_positive():
    with pytest.raises(ConfigurationError, match="positive"):
        TemperatureSampler(temperature=0)
    with pytest.raises(ConfigurationError, match="positive"):
        TemperatureSampler(temperature=1.0, final_temperature=-1.0)


def task_share(built: MultiTaskDataLoader, name: str) -> float:
    tasks = [batch["task"][0] for batch in built]
    return tasks.count(name) / len(tasks)


def test_loader_uses_the_sampler_and_revisits_small_tasks():
    # rte: 64 rows in batches of 2 = 32 batches; sst2: 64 rows in batches of 16 = 4 batches.
    sizes = {"rte": 2, "sst2": 16}
    proportional = loader("rte", "sst2", batch_size=sizes)
    assert task_share(proportional, "sst2") == pytest.approx(4 / 36)

    uniform = loader("rte", "sst2", batch_size=sizes, sampler=UniformSampler(400))
    batches = list(uniform)
    tasks = [b["task"][0] for b in batches]
    assert len(tasks) == 400
    assert tasks.count("sst2") / 400 == pytest.approx(0.5, abs=0.08)
    # sst2 runs out after 4 batches and goes round: each of its instances comes back
    sst2 = Counter(key for b in batches if b["task"][0] == "sst2" for key in keys(b))
    assert set(sst2) == set(file_keys("sst2"))
    assert min(sst2.values()) >= 2


def test_loader_passes_the_epoch_to_the_sampler():
    annealed = TemperatureSampler(
        temperature=1.0, final_temperature=1000.0, anneal_epochs=1, batches_per_epoch=300
    )
    built = loader("rte", "sst2", batch_size={"rte": 2, "sst2": 16}, sampler=annealed, seed=5)
    assert task_share(built, "sst2") == pytest.approx(4 / 36, abs=0.06)  # T = 1
    assert task_share(built, "sst2") == pytest.approx(0.5, abs=0.08)  # T = 1000


@pytest.mark.parametrize("world", [2, 3, 4])
def test_split_for_workers_gives_equal_counts_and_every_example_once(world):
    batches = [[f"a{i}" for i in range(8)], [f"b{i}" for i in range(8)], ["c0", "c1", "c2"]]
    shares = split_for_workers(batches, world)
    assert len(shares) == world
    assert len({len(share) for share in shares}) == 1
    seen = [x for share in shares for batch in share for x in batch]
    assert sorted(seen) == sorted(x for batch in batches for x in batch)
    for share in shares:  # halves stay within one original batch, so within one task
        assert all(len({x[0] for x in batch}) == 1 and batch for batch in share)


def test_split_for_workers_keeps_batches_whole_when_they_divide_evenly():
    batches = [[1, 2], [3], [4, 5], [6]]
    assert split_for_workers(batches, 2) == [[[1, 2], [4, 5]], [[3], [6]]]


def test_split_for_workers_needs_an_example_per_worker():
    with pytest.raises(ConfigurationError, match="among 3 workers"):
        split_for_workers([[1], [2]], 3)


# --- main_task_ratio --------------------------------------------------------------------------


def test_main_task_ratio_is_registered():
    sampler = TaskSampler.from_params(
        Params({"type": "main_task_ratio", "main_task": "rte", "ratio": 0.5})
    )
    assert isinstance(sampler, MainTaskRatioSampler)
    assert (sampler.main_task, sampler.ratio, sampler.auxiliary_first) == ("rte", 0.5, False)


@pytest.mark.parametrize("ratio, auxiliary", [(0.5, 5), (1.0, 10), (2.5, 25), (0.0, 0), (9, 40)])
def test_main_task_ratio_counts(ratio, auxiliary):
    batches = {"main": 10, "a": 30, "b": 10}
    schedule = MainTaskRatioSampler("main", ratio).schedule(batches, random.Random(3), 0)
    counts = Counter(schedule)
    assert counts["main"] == 10  # every main-task batch, once
    assert counts["a"] + counts["b"] == auxiliary  # floor(ratio * 10), at most the 40 there are
    assert counts["a"] <= 30 and counts["b"] <= 10  # no auxiliary batch twice


def test_main_task_ratio_draws_auxiliary_tasks_by_size_and_interleaves():
    batches = {"main": 100, "a": 300, "b": 100}
    sampler = MainTaskRatioSampler("main", 1.0)
    drawn = Counter()
    for seed in range(50):
        schedule = sampler.schedule(batches, random.Random(seed), 0)
        drawn.update(task for task in schedule if task != "main")
    assert drawn["a"] / (drawn["a"] + drawn["b"]) == pytest.approx(0.75, abs=0.03)
    # shuffled together: the main task is not all at one end
    assert schedule[:100] != ["main"] * 100 and schedule[-100:] != ["main"] * 100


def test_main_task_ratio_auxiliary_first():
    schedule = MainTaskRatioSampler("main", 0.5, auxiliary_first=True).schedule(
        {"main": 4, "a": 10}, random.Random(0), 0
    )
    assert schedule == ["a", "a", "main", "main", "main", "main"]


def test_main_task_ratio_checks_its_settings():
    with pytest.raises(ConfigurationError, match="ratio is -1"):
        MainTaskRatioSampler("rte", -1)
    with pytest.raises(ConfigurationError, match=r"main_task 'mnli' is not one of .*'rte'"):
        MainTaskRatioSampler("mnli", 0.5).schedule({"rte": 2, "sst2": 2}, random.Random(0), 0)


def test_loader_with_main_task_ratio_sees_the_main_task_whole_each_epoch():
    # rte: 8 batches of 8; the auxiliary pool: 8 sst2 and 4 cola batches, of which 0.5 * 8 = 4
    # are drawn each epoch.
    sampler = MainTaskRatioSampler("rte", 0.5)
    built = loader("rte", "sst2", "cola", batch_size=8, sampler=sampler)
    epochs = [epoch(built) for _ in range(3)]
    for batches in epochs:
        assert len(batches) == len(built) == 8 + 4
        rte = Counter(key for batch in batches for key in batch if key[0] == "rte")
        assert set(rte) == set(file_keys("rte")) and set(rte.values()) == {1}
        auxiliary = [key for batch in batches for key in batch if key[0] != "rte"]
        assert len(auxiliary) == len(set(auxiliary)) <= 4 * 8
    # each epoch draws other auxiliary batches
    assert {k for b in epochs[0] for k in b} != {k for b in epochs[1] for k in b}


@pytest.mark.parametrize("read_at_start", [True, False])
def test_a_type_error_while_reading_never_leaves_the_loader_as_one(monkeypatch, read_at_start):
    """allennlp's trainer takes a TypeError from len(loader) for "no length"; the loader turns
    any TypeError from a reader into a ConfigurationError naming the task and file."""
    built_reader = reader("rte")

    def broken(task, path):
        raise TypeError("'int' object is not iterable")

    monkeypatch.setattr(built_reader, "read_task", broken)
    with pytest.raises(ConfigurationError, match=r"Task 'rte': reading .*RTE.* failed with Type"):
        built = MultiTaskDataLoader(
            built_reader, {"rte": PATHS["rte"]}, read_at_start=read_at_start
        )
        len(built)


def test_files_are_read_when_the_loader_is_built():
    built = MultiTaskDataLoader(reader("rte"), {"rte": PATHS["rte"]})
    assert built._instances is not None and len(built._instances["rte"]) > 0
    lazy = MultiTaskDataLoader(reader("rte"), {"rte": PATHS["rte"]}, read_at_start=False)
    assert lazy._instances is None
