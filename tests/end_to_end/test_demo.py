"""`make demo`'s configuration, samples and shown examples fit together."""

import json

from allennlp.common import Params

from scripts.demo import DEV_FILES
from tests.conftest import FIXTURES, ROOT

CONFIG = ROOT / "training_config" / "demo_learning.jsonnet"


def test_the_demo_compares_each_trained_task_with_a_baseline_on_its_dev_file():
    params = Params.from_file(str(CONFIG)).as_dict(quiet=True)
    validation = params["validation_data_path"]
    assert set(validation) == set(DEV_FILES) == set(params["train_data_path"])
    for task, (dev_file, _, _) in DEV_FILES.items():
        assert validation[task] == dev_file
        assert (ROOT / dev_file).is_file()


def test_the_samples_are_big_enough_to_learn_from():
    for folder, least in (("SST-2", 1000), ("STS-B", 800)):
        rows = (FIXTURES / "demo" / folder / "train.tsv").read_text().splitlines()[1:]
        assert len(rows) >= least


def test_every_shown_example_names_its_task_and_expected_answer():
    params = Params.from_file(str(CONFIG)).as_dict(quiet=True)
    examples = [json.loads(line) for line in (FIXTURES / "demo" / "examples.jsonl").open()]
    assert {example["task"] for example in examples} == set(params["train_data_path"])
    assert all("expected" in example for example in examples)
    train_texts = (FIXTURES / "demo" / "SST-2" / "train.tsv").read_text()
    assert not any(example["premise"] in train_texts for example in examples)
