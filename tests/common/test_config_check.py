"""The experiment sections' strict check: unknown keys with a did-you-mean, and numbers written
as strings, nested registered objects (optimizer, scheduler) included."""

import json
import os

import _jsonnet
import pytest
from allennlp.common.checks import ConfigurationError

from mtdnn_allennlp.common.config_check import check_experiment_keys, number_problems
from mtdnn_allennlp.common.environment import environment_with_defaults
from tests.conftest import ROOT


def rte_config():
    variables = dict(environment_with_defaults(), **os.environ)
    text = _jsonnet.evaluate_file(
        str(ROOT / "training_config" / "glue" / "rte.jsonnet"), ext_vars=variables
    )
    return json.loads(text)


def test_the_shipped_config_passes():
    check_experiment_keys(rte_config())


@pytest.mark.parametrize(
    "section, key, value, named",
    [
        ("optimizer", "lr", "fast", "'trainer.optimizer.lr' is the string 'fast'"),
        ("learning_rate_scheduler", "warmup_fraction", "0.1", "warmup_fraction' is the string"),
        (None, "num_epochs", "3", "'trainer.num_epochs' is the string '3'; it takes a number"),
    ],
)
def test_a_number_written_as_a_string_is_named(section, key, value, named):
    config = rte_config()
    target = config["trainer"] if section is None else config["trainer"][section]
    target[key] = value
    assert any(named in problem for problem in number_problems(config))
    with pytest.raises(ConfigurationError, match="numbers are written without quotes"):
        check_experiment_keys(config)


def test_a_misspelt_key_gets_the_closest_one():
    config = rte_config()
    config["trainer"]["num_epoch"] = 2
    with pytest.raises(ConfigurationError, match="Did you mean 'num_epochs'"):
        check_experiment_keys(config)
