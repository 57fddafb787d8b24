"""glue/{qqp,mnli,qnli}.jsonnet through the stock CLI on their fixtures; MNLI's mismatched dev
set scored with `allennlp evaluate` on the trained archive."""

import json

import pytest

from tests.conftest import FIXTURES, cli_env, run_allennlp

pytestmark = pytest.mark.slow

MNLI = FIXTURES / "data" / "glue" / "MNLI"


@pytest.fixture(scope="module")
def mnli_run(tmp_path_factory):
    output = tmp_path_factory.mktemp("mnli") / "run"
    run_allennlp(
        ["train", "training_config/glue/mnli.jsonnet", "-s", str(output)],
        env=cli_env(MTDNN_SMOKE="1"),
    )
    return output


def test_mnli_validates_on_the_matched_dev_set(mnli_run):
    metrics = json.loads((mnli_run / "metrics.json").read_text())
    assert metrics["training_loss"] > 0
    assert 0.0 <= metrics["validation_mnli_accuracy"] <= 1.0
    assert metrics["validation_average"] == metrics["validation_mnli_accuracy"]


def test_mnli_archive_evaluates_on_matched_and_mismatched_dev_sets(mnli_run, tmp_path):
    scores = {}
    for split in ("dev_matched", "dev_mismatched"):
        output = tmp_path / f"{split}.json"
        run_allennlp(
            [
                "evaluate",
                str(mnli_run / "model.tar.gz"),
                json.dumps({"mnli": str(MNLI / f"{split}.tsv")}),
                "--output-file",
                str(output),
            ]
        )
        scores[split] = json.loads(output.read_text())
    # The matched dev set is the one validated during training: the same score again.
    training = json.loads((mnli_run / "metrics.json").read_text())
    assert scores["dev_matched"]["mnli_accuracy"] == pytest.approx(
        training["validation_mnli_accuracy"]
    )
    accuracy = scores["dev_mismatched"]["mnli_accuracy"]
    assert 0.0 <= accuracy <= 1.0
    # Ten pairs: the accuracy is a whole number of right answers out of ten.
    assert round(accuracy * 10, 6) == round(accuracy * 10)


@pytest.mark.parametrize(
    "config, expected", [("qqp", ["qqp_accuracy", "qqp_f1"]), ("qnli", ["qnli_accuracy"])]
)
def test_qqp_and_qnli_train_with_their_metrics(config, expected, tmp_path):
    output = tmp_path / "run"
    run_allennlp(
        ["train", f"training_config/glue/{config}.jsonnet", "-s", str(output)],
        env=cli_env(MTDNN_SMOKE="1"),
    )
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["training_loss"] > 0
    for key in expected:
        assert 0.0 <= metrics[f"validation_{key}"] <= 1.0
