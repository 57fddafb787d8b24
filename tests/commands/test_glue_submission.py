"""`allennlp glue-submission`: GLUE leaderboard files from a trained archive, through the CLI."""

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import _jsonnet
import pytest
from allennlp.common.checks import ConfigurationError

from mtdnn_allennlp.commands.glue_submission import GLUE_FILES, write_submission
from tests.conftest import FIXTURES, ROOT, cli_env, run_allennlp

pytestmark = pytest.mark.slow

GLUE = FIXTURES / "data" / "glue"


@pytest.fixture(scope="module")
def archive(trained_run) -> Path:
    return trained_run("training_config/demo.jsonnet", MTDNN_SMOKE="1") / "model.tar.gz"


@pytest.fixture(scope="module")
def submission(archive, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("submission")
    result = run_allennlp(["glue-submission", str(archive), "--output-dir", str(output)])
    assert "RTE.tsv: 16 predictions" in result.stdout
    return output


def test_names(submission):
    # demo.jsonnet trains RTE, SST-2 and STS-B
    assert sorted(p.name for p in submission.iterdir()) == ["RTE.tsv", "SST-2.tsv", "STS-B.tsv"]


def rows(path: Path) -> List[List[str]]:
    return list(csv.reader(path.open(encoding="utf-8"), delimiter="\t", quoting=csv.QUOTE_NONE))


def test_index_column_follows_the_test_file(submission):
    for name, folder in (("RTE.tsv", "RTE"), ("SST-2.tsv", "SST-2"), ("STS-B.tsv", "STS-B")):
        written = rows(submission / name)
        assert written[0] == ["index", "prediction"]
        test = rows(GLUE / folder / "test.tsv")
        assert [row[0] for row in written[1:]] == [row[0] for row in test[1:]]
        assert all(len(row) == 2 for row in written)


def test_predictions_are_glue_values(submission):
    assert {row[1] for row in rows(submission / "RTE.tsv")[1:]} <= {"entailment", "not_entailment"}
    assert {row[1] for row in rows(submission / "SST-2.tsv")[1:]} <= {"0", "1"}
    for _, score in rows(submission / "STS-B.tsv")[1:]:
        assert 0.0 <= float(score) <= 5.0 and len(score.split(".")[1]) == 3


def test_labels_agree_with_allennlp_predict(archive, submission, tmp_path):
    """SST-2's labels are 'negative'/'positive' in the model and '0'/'1' in GLUE's files."""
    test = rows(GLUE / "SST-2" / "test.tsv")[1:]
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text(
        "".join(json.dumps({"task": "sst2", "id": i, "premise": s}) + "\n" for i, s in test)
    )
    output = tmp_path / "predictions.jsonl"
    run_allennlp(["predict", str(archive), str(inputs), "--output-file", str(output), "--silent"])
    predicted = [json.loads(line)["label"] for line in output.read_text().splitlines()]
    glue_value = {"negative": "0", "positive": "1"}
    assert [row[1] for row in rows(submission / "SST-2.tsv")[1:]] == [
        glue_value[label] for label in predicted
    ]


def test_module_entry_point_and_task_choice(archive, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mtdnn_allennlp.commands", "glue-submission", str(archive)]
        + ["--output-dir", str(tmp_path), "--tasks", "rte", "--data-dir", str(GLUE)],
        cwd=ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert [p.name for p in tmp_path.iterdir()] == ["RTE.tsv"]


def test_bad_requests_are_configuration_errors(archive, tmp_path):
    with pytest.raises(ConfigurationError, match="'snli' is not a GLUE task"):
        write_submission(str(archive), str(tmp_path), tasks=["snli"])
    with pytest.raises(ConfigurationError, match="has no 'mrpc' head"):
        write_submission(str(archive), str(tmp_path), tasks=["mrpc"])
    output = tmp_path / "submission"
    with pytest.raises(ConfigurationError, match=r"test file not found.*\n.*--data-dir .*nowhere"):
        write_submission(str(archive), str(output), data_dir=str(tmp_path / "nowhere"))
    assert not output.exists()


def test_every_glue_task_of_the_library_has_a_file():
    library: Dict = json.loads(
        _jsonnet.evaluate_file(
            str(ROOT / "training_config/tasks.libsonnet"), ext_vars={"MTDNN_DATA": "data"}
        )
    )
    glue_tasks = {"cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte", "wnli"}
    assert glue_tasks <= set(library) and set(GLUE_FILES) == glue_tasks
