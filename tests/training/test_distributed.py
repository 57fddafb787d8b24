"""Distributed training on CPU: 2 gloo workers through the stock CLI
(training_config/distributed/mtdnn_2cpu.jsonnet, tiny encoder, fixtures)."""

import json
from collections import Counter
from pathlib import Path
from typing import Dict, List, Tuple

import _jsonnet
import pytest
from allennlp.common import Params

from mtdnn_allennlp.data.dataset_readers import MultiTaskReader
from mtdnn_allennlp.tasks import TaskDefinition
from tests.conftest import FIXTURES, ROOT, TINY_BERT, run_allennlp

pytestmark = pytest.mark.slow

CONFIG = "training_config/distributed/mtdnn_2cpu.jsonnet"
DATA = FIXTURES / "data" / "glue"
TRAIN = {t: str(DATA / f / "train.tsv") for t, f in (("rte", "RTE"), ("sst2", "SST-2"))}
TRAIN["stsb"] = str(DATA / "STS-B" / "train.tsv")
DEV = {task: path.replace("train.tsv", "dev.tsv") for task, path in TRAIN.items()}
CALLBACKS = json.dumps(
    {"trainer.callbacks": [{"type": "tensorboard"}, {"type": "test_log_instances"}]}
)
Key = Tuple[str, str, str]


def file_keys(paths: Dict[str, str]) -> List[Key]:
    """Every example's (task, id, premise), read by the task readers, not the loader."""
    config = json.loads(
        _jsonnet.evaluate_file(
            str(ROOT / "training_config/tasks.libsonnet"),
            ext_vars={"MTDNN_DATA": str(FIXTURES / "data")},
        )
    )
    tasks = [TaskDefinition.from_params(Params(config[name])) for name in paths]
    reader = MultiTaskReader(tasks, encoder=str(TINY_BERT))
    return [
        (task, str(m["id"]), m["premise"])
        for task, path in paths.items()
        for m in (instance["metadata"].metadata for instance in reader.read_task(task, path))
    ]


@pytest.fixture(scope="module")
def run(trained_run) -> Path:
    return trained_run(CONFIG, json.loads(CALLBACKS), include=["tests"], MTDNN_EPOCHS="2")


def logged(run: Path, rank: int, epoch: int, training: bool) -> List[List[Key]]:
    records = [json.loads(line) for line in (run / f"instances_rank{rank}.jsonl").open()]
    return [
        [(task, str(id_), premise) for task, id_, premise in record["keys"]]
        for record in records
        if record["epoch"] == epoch and record["training"] == training
    ]


@pytest.mark.parametrize("training", [True, False], ids=["train", "validation"])
def test_workers_see_disjoint_shares_that_cover_every_example_once(run, training):
    expected = file_keys(TRAIN if training else DEV)
    assert len(set(expected)) == len(expected)  # the keys identify examples
    for epoch in (0, 1):
        shares = [logged(run, rank, epoch, training) for rank in (0, 1)]
        assert len(shares[0]) == len(shares[1]) > 0  # DDP needs equal step counts
        seen = [Counter(key for batch in share for key in batch) for share in shares]
        assert not set(seen[0]) & set(seen[1]), "an example went to both workers"
        together = seen[0] + seen[1]
        assert set(together.values()) == {1}, "an example was seen twice in one epoch"
        assert set(together) == set(expected)
        for share in shares:  # each batch still holds one task
            assert all(len({task for task, _, _ in batch}) == 1 for batch in share)


def test_each_epoch_deals_new_batches(run):
    assert logged(run, 0, 0, True) != logged(run, 0, 1, True)


def test_metrics_are_gathered_from_both_workers(run, tmp_path):
    """The best epoch's validation metrics equal a single-process evaluation of the archived
    model (the best epoch's weights) on the whole dev sets, so they were computed over both
    workers' shares, not over one."""
    metrics = json.loads((run / "metrics.json").read_text())
    output = tmp_path / "evaluation.json"
    archive = str(run / "model.tar.gz")
    run_allennlp(["evaluate", archive, json.dumps(DEV), "--output-file", str(output)])
    evaluated = json.loads(output.read_text())
    for key in ("rte_accuracy", "sst2_accuracy", "stsb_pearson", "stsb_spearman", "average"):
        assert metrics[f"best_validation_{key}"] == pytest.approx(evaluated[key], abs=1e-5), key
    assert metrics["training_worker_1_memory_MB"] > 0  # both workers reported
