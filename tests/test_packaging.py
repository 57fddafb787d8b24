"""Configs found from any folder (`mtdnn://...`, `import 'mtdnn/...'`), the MTDNN_DATA message
without a checkout, and the wheel: built, installed into a fresh venv with --no-index, and
training a shipped config on a fixture copy outside the checkout."""

import json
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError

from mtdnn_allennlp.common import configs
from tests.conftest import FIXTURES, ROOT, TINY_BERT, cli_env, run_allennlp

OWN_CONFIG = """
local tasks = import 'mtdnn/tasks.libsonnet';
local lib = import 'mtdnn/experiment.libsonnet';
lib.experiment([tasks.rte], epochs=1, batch_size=8)
"""


def _outside_config(folder: Path) -> Path:
    config = folder / "my_rte.jsonnet"
    config.write_text(OWN_CONFIG)
    return config


def test_a_config_outside_the_checkout_imports_the_library_by_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    params = Params.from_file(str(_outside_config(tmp_path))).as_dict(quiet=True)
    assert params["train_data_path"] == {"rte": str(FIXTURES / "data/glue/RTE/train.tsv")}
    assert params["model"]["tasks"][0]["name"] == "rte"


def test_a_shipped_config_by_its_mtdnn_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    by_name = Params.from_file("mtdnn://glue/rte.jsonnet").as_dict(quiet=True)
    by_path = Params.from_file(str(ROOT / "training_config/glue/rte.jsonnet")).as_dict(quiet=True)
    assert by_name == by_path


def test_an_unknown_shipped_name_lists_the_shipped_ones():
    with pytest.raises(ConfigurationError, match="not a shipped config.*mtdnn://glue/rte.jsonnet"):
        configs.shipped_config("mtdnn://glue/nope.jsonnet")
    with pytest.raises(ConfigurationError, match="not a shipped config"):
        configs.shipped_config("mtdnn://../setup.py")


def test_an_empty_mtdnn_data_names_the_variable(monkeypatch):
    monkeypatch.setenv("MTDNN_DATA", "")
    with pytest.raises(RuntimeError, match="MTDNN_DATA is not set: set it to the folder"):
        Params.from_file("mtdnn://glue/rte.jsonnet")


@pytest.mark.slow
def test_a_config_outside_the_checkout_trains_through_the_cli(tmp_path):
    config = _outside_config(tmp_path)
    run_allennlp(
        ["train", str(config), "-s", str(tmp_path / "run")],
        env=cli_env(MTDNN_SMOKE="1"),
        cwd=tmp_path,
    )
    assert (tmp_path / "run" / "model.tar.gz").is_file()


def _venv_on_top_of_this_one(folder: Path) -> Path:
    """A fresh venv that sees this venv's packages through a .pth line (not its .pth files, so
    not the checkout's editable install): nothing is downloaded."""
    venv.create(folder, with_pip=False)
    python = folder / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / "base_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


@pytest.mark.slow
def test_the_wheel_trains_a_shipped_config_outside_the_checkout(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
        + ["--wheel-dir", str(wheels), str(ROOT)],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    python = _venv_on_top_of_this_one(tmp_path / "venv")
    # --ignore-installed: this venv's editable install is visible through the .pth line, and
    # must neither satisfy the requirement nor be uninstalled.
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--ignore-installed"]
        + [str(next(wheels.glob("mtdnn_allennlp-*.whl")))],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    work = tmp_path / "elsewhere"
    shutil.copytree(FIXTURES / "data" / "glue" / "RTE", work / "data" / "glue" / "RTE")
    shutil.copytree(TINY_BERT, work / "encoder")
    env = {k: v for k, v in cli_env().items() if k != "PYTHONPATH"}  # no checkout on the path
    env["MTDNN_ENCODER"] = str(work / "encoder")
    train = [str(python), "-m", "allennlp", "train", "mtdnn://glue/rte.jsonnet", "-s"]

    where = subprocess.run(
        [str(python), "-c", "import mtdnn_allennlp; print(mtdnn_allennlp.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(tmp_path / "venv") in where.stdout  # the wheel's copy, not the checkout

    missing = subprocess.run(
        train + [str(work / "no_data")], cwd=work, env=env, capture_output=True, text=True
    )
    assert missing.returncode != 0
    assert "MTDNN_DATA is not set" in missing.stderr

    env.update(MTDNN_DATA=str(work / "data"), MTDNN_SMOKE="1")
    result = subprocess.run(
        train + [str(work / "run")], cwd=work, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-4000:]
    archived = json.loads((work / "run" / "config.json").read_text())
    assert archived["train_data_path"] == {"rte": str(work / "data/glue/RTE/train.tsv")}
    assert (work / "run" / "model.tar.gz").is_file()
