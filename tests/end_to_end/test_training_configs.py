"""Every config under training_config/ trains for a few batches (MTDNN_SMOKE=1, tiny encoder)."""

import json
from pathlib import Path

import pytest
from allennlp.commands.train import train_model_from_file
from allennlp.common import Params

from tests.conftest import ROOT

CONFIGS = sorted(
    str(path.relative_to(ROOT)) for path in (ROOT / "training_config").rglob("*.jsonnet")
)


def test_configs_are_found():
    assert "training_config/demo.jsonnet" in CONFIGS
    assert len(CONFIGS) >= 10


# Configs that need a variable with no default, and the test that trains them end to end.
NEEDS_VARIABLE = {
    "training_config/multistage/refine.jsonnet": ("MTDNN_INIT_ARCHIVE", "test_multistage.py"),
}


@pytest.mark.parametrize("config", CONFIGS)
def test_config_trains_a_few_batches(config, tiny_encoder, tmp_path, monkeypatch):
    monkeypatch.setenv("MTDNN_SMOKE", "1")
    if config in NEEDS_VARIABLE:  # without the variable it must say what it needs
        variable, _ = NEEDS_VARIABLE[config]
        monkeypatch.delenv(variable, raising=False)
        with pytest.raises(RuntimeError, match=f"{variable} is not set"):
            Params.from_file(str(ROOT / config))
        return
    params = Params.from_file(str(ROOT / config))
    assert params["trainer"]["num_epochs"] == 1
    assert params["dataset_reader"]["max_instances_per_task"] == 16
    # Distributed configs train in spawned workers, which import only what is named here.
    train_model_from_file(
        str(ROOT / config), str(tmp_path / "run"), include_package=["mtdnn_allennlp"]
    )
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["training_loss"] > 0


def test_configs_default_to_the_fixtures_and_minilm(monkeypatch):
    for variable in ("MTDNN_DATA", "MTDNN_ENCODER", "MTDNN_SMOKE"):
        monkeypatch.delenv(variable, raising=False)
    params = Params.from_file(str(ROOT / "training_config/glue/rte.jsonnet")).as_dict()
    assert params["model"]["encoder"]["model_name"] == "all-MiniLM-L6-v2"
    assert Path(params["train_data_path"]["rte"]) == ROOT / "fixtures/data/glue/RTE/train.tsv"
    assert "max_instances_per_task" not in params["dataset_reader"]


def test_mtdnn_data_points_configs_at_the_real_data(monkeypatch, tmp_path):
    monkeypatch.setenv("MTDNN_DATA", str(tmp_path))
    params = Params.from_file(str(ROOT / "training_config/glue/mtdnn.jsonnet")).as_dict()
    assert params["train_data_path"]["snli"] == f"{tmp_path}/nli/SNLI/s1.dev"
    assert "snli" not in params["validation_data_path"]  # SNLI is auxiliary: not validated
