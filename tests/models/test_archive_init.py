"""Multi-stage training: a model initialised from a trained archive (init_from_archive), then
stage 1 and stage 2 through the stock CLI (training_config/multistage/refine.jsonnet)."""

import io
import json
import tarfile
from copy import deepcopy
from pathlib import Path
from typing import Any, Dict, List

import _jsonnet
import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.data import Vocabulary
from allennlp.models import Model

from tests.conftest import FIXTURES, ROOT, TINY_BERT, cli_env, run_allennlp

LIBRARY: Dict[str, Any] = json.loads(
    _jsonnet.evaluate_file(
        str(ROOT / "training_config/tasks.libsonnet"),
        ext_vars={"MTDNN_DATA": str(FIXTURES / "data")},
    )
)


def build(names: List[str], tasks: Any = None, **extra: Any) -> Model:
    params = {
        "type": "mtdnn",
        "encoder": {"type": "transformer", "model_name": str(TINY_BERT)},
        "tasks": tasks or [LIBRARY[name] for name in names],
        **extra,
    }
    # Params consumes what it reads: give it a copy of the library's declarations.
    return Model.from_params(vocab=Vocabulary.empty(), params=Params(deepcopy(params)))


def write_archive(model: Model, tasks: List[Dict], path: Path, state=None) -> Path:
    """A model.tar.gz as allennlp train writes it (the parts the initializer reads)."""
    config = json.dumps({"model": {"type": "mtdnn", "tasks": tasks}}).encode()
    weights = io.BytesIO()
    torch.save(state if state is not None else model.state_dict(), weights)
    with tarfile.open(path, "w:gz") as archive:
        for name, data in (("config.json", config), ("weights.th", weights.getvalue())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture(scope="module")
def stage1(tmp_path_factory):
    """A 'trained' RTE + STS-B model: its encoder moved away from the pretrained weights."""
    model = build(["rte", "stsb"])
    with torch.no_grad():
        for parameter in model.encoder.parameters():
            parameter.add_(0.01)
    tasks = [LIBRARY["rte"], LIBRARY["stsb"]]
    path = write_archive(model, tasks, tmp_path_factory.mktemp("stage1") / "model.tar.gz")
    return model, path


def same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    first, second = a.state_dict(), b.state_dict()
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


def test_copies_the_encoder_and_the_named_head(stage1):
    source, archive = stage1
    model = build(["rte"], init_from_archive={"archive_file": str(archive), "heads": ["rte"]})
    assert same(model.encoder, source.encoder)
    assert same(model.heads["rte"], source.heads["rte"])
    assert not same(build(["rte"]).encoder, source.encoder)  # not copied by chance


def test_default_copies_every_head_the_archive_has(stage1, tmp_path):
    source, archive = stage1
    model = build(["stsb", "sst2"], init_from_archive={"archive_file": str(archive)})
    assert same(model.heads["stsb"], source.heads["stsb"])
    fresh = build(["stsb", "sst2"])
    # SST-2 has no head in the archive: it keeps its own initialisation, like a fresh model's.
    assert not same(model.heads["sst2"], source.heads["rte"])
    assert model.heads["sst2"].state_dict().keys() == fresh.heads["sst2"].state_dict().keys()


def test_encoder_false_keeps_the_pretrained_encoder(stage1):
    source, archive = stage1
    model = build(
        ["rte"], init_from_archive={"archive_file": str(archive), "heads": [], "encoder": False}
    )
    assert same(model.encoder, build(["rte"]).encoder)
    assert not same(model.encoder, source.encoder)


def test_renamed_head(stage1):
    source, archive = stage1
    qnli = dict(LIBRARY["qnli"])  # same labels as RTE, in the same order
    model = build(
        ["qnli"],
        tasks=[qnli],
        init_from_archive={
            "archive_file": str(archive),
            "heads": [],
            "rename_heads": {"qnli": "rte"},
        },
    )
    assert same(model.heads["qnli"], source.heads["rte"])


def test_a_missing_head_is_a_configuration_error(stage1):
    _, archive = stage1
    with pytest.raises(ConfigurationError, match=r"the archive has no head 'sst2'.*'rte', 'stsb'"):
        build(["sst2"], init_from_archive={"archive_file": str(archive), "heads": ["sst2"]})
    with pytest.raises(ConfigurationError, match="has no head for any of this model's tasks"):
        build(["sst2"], init_from_archive={"archive_file": str(archive)})


def test_different_labels_are_a_configuration_error(stage1):
    _, archive = stage1
    swapped = dict(LIBRARY["rte"], labels=["not_entailment", "entailment"])
    with pytest.raises(ConfigurationError, match="same labels in the same order"):
        build(["rte"], tasks=[swapped], init_from_archive={"archive_file": str(archive)})


def test_different_shapes_are_a_configuration_error(stage1, tmp_path):
    source, _ = stage1
    state = source.state_dict()
    key = next(k for k in state if k.startswith("heads.rte.") and k.endswith("weight"))
    state[key] = torch.zeros(state[key].shape[0] + 1, *state[key].shape[1:])
    archive = write_archive(
        source, [LIBRARY["rte"], LIBRARY["stsb"]], tmp_path / "model.tar.gz", state
    )
    with pytest.raises(ConfigurationError, match=rf"{key} has shape .* in the archive"):
        build(["rte"], init_from_archive={"archive_file": str(archive)})


def test_no_archive_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="no model archive at"):
        build(["rte"], init_from_archive={"archive_file": str(tmp_path)})
    with pytest.raises(ConfigurationError, match="no model archive at .*missing.tar.gz"):
        build(["rte"], init_from_archive={"archive_file": str(tmp_path / "missing.tar.gz")})


# --- end to end through the CLI -----------------------------------------------------------


def weights_of(archive: Path) -> Dict[str, torch.Tensor]:
    with tarfile.open(archive) as opened:
        data = opened.extractfile("weights.th").read()  # type: ignore[union-attr]
    return torch.load(io.BytesIO(data), map_location="cpu")


@pytest.mark.slow
def test_stage1_multitask_then_stage2_refine_through_the_cli(tmp_path):
    stage1, stage2 = tmp_path / "stage1", tmp_path / "stage2"
    run_allennlp(
        ["train", "training_config/demo.jsonnet", "-s", str(stage1)],
        env=cli_env(MTDNN_SMOKE="1"),
    )
    archive = stage1 / "model.tar.gz"
    save_initial = json.dumps(
        {"trainer.callbacks": [{"type": "tensorboard"}, {"type": "test_save_initial_weights"}]}
    )
    run_allennlp(
        ["train", "training_config/multistage/refine.jsonnet", "-s", str(stage2)]
        + ["-o", save_initial, "--include-package", "tests"],
        # One epoch of the 64 STS-B rows: 4 steps, enough to get past the warm-up's lr of 0.
        env=cli_env(MTDNN_EPOCHS="1", MTDNN_INIT_ARCHIVE=str(archive), MTDNN_REFINE_TASK="stsb"),
    )
    before = weights_of(archive)
    initial = torch.load(stage2 / "initial_weights.th", map_location="cpu")
    after = weights_of(stage2 / "model.tar.gz")
    # Stage 2 holds the refined task only, and starts exactly where stage 1 ended.
    assert {key.split(".")[1] for key in initial if key.startswith("heads.")} == {"stsb"}
    for key, value in initial.items():
        assert torch.equal(value, before[key]), key
    # ... and then trained: the encoder moved.
    moved = [key for key in initial if not torch.equal(initial[key], after[key])]
    assert any(key.startswith("encoder.") for key in moved)
    assert any(key.startswith("heads.stsb.") for key in moved)

    # The stage-2 archive stands alone: it loads without the stage-1 archive.
    archive.rename(tmp_path / "moved.tar.gz")
    output = tmp_path / "metrics.json"
    dev = str(FIXTURES / "data/glue/STS-B/dev.tsv")
    run_allennlp(["evaluate", str(stage2 / "model.tar.gz"), dev, "--output-file", str(output)])
    assert "stsb_pearson" in json.loads(output.read_text())


@pytest.mark.slow
def test_refine_without_a_stage1_archive_says_what_to_set(tmp_path):
    result = run_allennlp(
        ["train", "training_config/multistage/refine.jsonnet", "-s", str(tmp_path / "run")],
        check=False,
    )
    assert result.returncode != 0
    assert "MTDNN_INIT_ARCHIVE is not set" in result.stderr
    result = run_allennlp(
        ["train", "training_config/multistage/refine.jsonnet", "-s", str(tmp_path / "run2")],
        env=cli_env(MTDNN_INIT_ARCHIVE=str(tmp_path / "missing.tar.gz")),
        check=False,
    )
    assert result.returncode != 0
    assert "no model archive at" in result.stderr and "missing.tar.gz" in result.stderr
