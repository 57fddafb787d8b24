"""The speed options through the stock CLI: the tokenisation cache (MTDNN_CACHE) and the
encoder's attention kernel and autocast set by config overrides."""

import json

import pytest

from tests.conftest import cli_env, run_allennlp

pytestmark = pytest.mark.slow

DEMO_CONFIG = "training_config/demo.jsonnet"


def test_the_second_run_reads_tokenised_data_from_the_cache(tmp_path):
    cache = tmp_path / "cache"
    env = cli_env(MTDNN_SMOKE="1", MTDNN_CACHE=str(cache))
    overrides = {
        "model.encoder.attn_implementation": "eager",
        "model.encoder.autocast_dtype": "bfloat16",
    }
    run_allennlp(
        ["train", DEMO_CONFIG, "-s", str(tmp_path / "first"), "-o", json.dumps(overrides)],
        env=env,
    )
    # allennlp writes the full INFO log to the serialization directory.
    first = (tmp_path / "first" / "out.log").read_text()
    assert "tokenised instances cached in" in first
    assert "tokenised instances from cache" not in first
    entries = sorted(path.name.split("-")[0] for path in cache.glob("*.json"))
    # Train and dev files of the three demo tasks.
    assert entries == ["rte", "rte", "sst2", "sst2", "stsb", "stsb"]
    config = json.loads((tmp_path / "first" / "config.json").read_text())
    assert config["model"]["encoder"]["autocast_dtype"] == "bfloat16"
    assert config["dataset_reader"]["cache_directory"] == str(cache)

    run_allennlp(["train", DEMO_CONFIG, "-s", str(tmp_path / "second")], env=env)
    second = (tmp_path / "second" / "out.log").read_text()
    assert second.count("tokenised instances from cache") == 6
    assert "tokenised instances cached in" not in second
    first_metrics = json.loads((tmp_path / "first" / "metrics.json").read_text())
    second_metrics = json.loads((tmp_path / "second" / "metrics.json").read_text())
    assert first_metrics["training_loss"] > 0 and second_metrics["training_loss"] > 0


def test_a_bad_autocast_dtype_fails_at_config_time(tmp_path):
    result = run_allennlp(
        [
            "train",
            DEMO_CONFIG,
            "-s",
            str(tmp_path / "run"),
            "-o",
            json.dumps({"model.encoder.autocast_dtype": "float8"}),
        ],
        env=cli_env(MTDNN_SMOKE="1"),
        check=False,
    )
    assert result.returncode != 0
    assert "autocast_dtype 'float8' is not one of" in result.stderr
