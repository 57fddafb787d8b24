"""The mtdnn_ names in allennlp's registries, and the deprecated aliases of the first release."""

import logging

import pytest
from allennlp.common import Params
from allennlp.data import DatasetReader
from allennlp.training.callbacks import TrainerCallback

from mtdnn_allennlp.common import registered_names
from mtdnn_allennlp.common.registered_names import DEPRECATED_NAMES, register
from tests.conftest import ROOT, TINY_BERT

OLD_READER = {"type": "glue_tsv", "columns": {"premise": "sentence", "label": "label"}}


def test_every_deprecated_name_resolves_to_the_same_class_as_its_new_name():
    assert len(DEPRECATED_NAMES) >= 10
    for (base, old), new in DEPRECATED_NAMES.items():
        assert new == "mtdnn_" + old
        assert base.resolve_class_name(old) == base.resolve_class_name(new)


def test_a_deprecated_name_still_builds_and_warns_once_in_the_log(caplog, monkeypatch):
    monkeypatch.setattr(registered_names, "_warned", set())
    task = {"name": "sst2", "task_type": "classification", "data_format": "premise_only"}
    params = {"labels": ["0", "1"], "reader": OLD_READER, **task}
    with caplog.at_level(logging.WARNING, logger="mtdnn_allennlp.common.registered_names"):
        for _ in range(2):
            with pytest.warns(DeprecationWarning, match="write type: 'mtdnn_glue_tsv'"):
                reader = DatasetReader.from_params(
                    Params({**OLD_READER, "task": dict(params), "encoder": str(TINY_BERT)})
                )
    assert type(reader).__name__ == "GlueTsvReader"
    assert caplog.text.count("'glue_tsv' is a deprecated name") == 1


def test_new_names_do_not_warn(recwarn):
    TrainerCallback.resolve_class_name("mtdnn_adversarial_training")
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]


def test_a_new_name_without_the_prefix_is_refused():
    with pytest.raises(ValueError, match="start with 'mtdnn_'"):
        register(DatasetReader, "plain_name")


def test_the_shipped_configs_use_no_deprecated_name():
    old_names = {old for (_, old) in DEPRECATED_NAMES}
    for config in (ROOT / "training_config").rglob("*sonnet"):
        text = config.read_text()
        used = {name for name in old_names if f"'{name}'" in text}
        assert not used, f"{config} uses deprecated names {used}"
