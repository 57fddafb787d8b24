"""A saved Hugging Face dataset folder trains through the stock CLI, from the config alone, as
docs/tutorial_new_task.md shows."""

import json
import shlex

import datasets
import pytest

from tests.conftest import FIXTURES, ROOT, cli_env, run_allennlp
from tests.end_to_end.test_tutorial import blocks

CONFIG = ROOT / "training_config" / "tutorial" / "rte_hf_dataset.jsonnet"
SAVED = FIXTURES / "data" / "hf" / "rte"


def test_the_fixture_is_the_rte_sample_with_class_labels():
    saved = datasets.load_from_disk(str(SAVED))
    assert saved["train"].features["label"].names == ["entailment", "not_entailment"]
    tsv_rows = (FIXTURES / "data/glue/RTE/train.tsv").read_text().splitlines()[1:]
    assert saved["train"]["sentence1"] == [row.split("\t")[1] for row in tsv_rows]


def test_the_tutorial_shows_the_config():
    shown = [block for block in blocks("jsonnet") if "mtdnn_hf_dataset" in block]
    assert shown and shown[0].strip() in CONFIG.read_text()


@pytest.mark.slow
def test_the_saved_dataset_trains_through_allennlp_train(tmp_path):
    (command,) = [block for block in blocks("shell") if "rte_hf_dataset" in block]
    words = shlex.split(command.replace("runs/", f"{tmp_path}/"))
    assert words[:3] == ["allennlp", "train", str(CONFIG.relative_to(ROOT))]
    run_allennlp(words[1:], env=cli_env(MTDNN_EPOCHS="1"), include_package=False)
    metrics = json.loads((tmp_path / "rte_hf" / "metrics.json").read_text())
    # The same rows, labels and order as the TSV files the folder was saved from: the same
    # seeded run on the TSVs (training_config/glue/rte.jsonnet) gives the same numbers.
    tsv_run = tmp_path / "rte_tsv"
    run_allennlp(
        ["train", "training_config/glue/rte.jsonnet", "-s", str(tsv_run)],
        env=cli_env(MTDNN_EPOCHS="1"),
    )
    from_tsv = json.loads((tsv_run / "metrics.json").read_text())
    for key in ("training_rte_loss", "validation_rte_loss", "validation_rte_accuracy"):
        assert metrics[key] == pytest.approx(from_tsv[key], abs=1e-6), key
