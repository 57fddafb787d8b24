"""`allennlp train` on bad data and bad configs: each stops with the file, line and field (or
the key and task) and a fix, and leaves no serialization dir behind, so the same command can
be run again once the input is fixed."""

from pathlib import Path

import pytest

from tests.support.reliability import (
    ROOT,
    assert_refused,
    cli_env,
    data_copy,
    edit_line,
    run_allennlp,
)

pytestmark = pytest.mark.slow

STSB_ROW = "30\tmain-captions\tMSRvid\t2012test\t0047\tnone\tnone\tA man rides.\tA man rode.\t{}"


def _damage_stsb_score(data: Path, score: str) -> Path:
    path = data / "glue/STS-B/train.tsv"
    edit_line(path, 2, STSB_ROW.format(score))
    return path


def _non_utf8_rte(data: Path) -> Path:
    path = data / "glue/RTE/train.tsv"
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b"a", b"\xff\xfe", 1)
    path.write_bytes(b"\n".join(lines))
    return path


def _bad_dev_label(data: Path) -> Path:
    path = data / "glue/RTE/dev.tsv"
    edit_line(path, 3, "9\tA text.\tAnother text.\tmaybe")
    return path


def _bad_conll_tag(data: Path) -> Path:
    path = data / "ner/CoNLL2003/train.txt"
    lines = path.read_text().splitlines()
    lines[4] = "visited NN B-NP I-NOPE"  # the third word of the first sentence
    path.write_text("\n".join(lines) + "\n")
    return path


def _squad_answers_number(data: Path) -> Path:
    import json

    path = data / "squad/train-v1.1.json"
    document = json.loads(path.read_text())
    document["data"][0]["paragraphs"][0]["qas"][0]["answers"] = 5
    path.write_text(json.dumps(document))
    return path


# case: (config, damage, phrases expected in the message besides the file)
DATA_CASES = {
    "stsb_inf_score": (
        "training_config/glue/stsb.jsonnet",
        lambda data: _damage_stsb_score(data, "inf"),
        [":2", "field 'label'", "not a finite number"],
    ),
    "stsb_nan_score": (
        "training_config/glue/stsb.jsonnet",
        lambda data: _damage_stsb_score(data, "nan"),
        [":2", "field 'label'", "not a finite number"],
    ),
    "non_utf8_bytes": (
        "training_config/glue/rte.jsonnet",
        _non_utf8_rte,
        [":3", "not valid utf-8"],
    ),
    "bad_dev_row_before_training": (
        "training_config/glue/rte.jsonnet",
        _bad_dev_label,
        [":3", "field 'label'", "unknown label 'maybe'"],
    ),
    "conll_tag_at_its_own_line": (
        "training_config/ner/conll2003.jsonnet",
        _bad_conll_tag,
        [":5", "field 'tags'", "unknown label 'I-NOPE'"],
    ),
    "squad_answers_not_a_list": (
        "training_config/squad/squad_v1.jsonnet",
        _squad_answers_number,
        [":1", "field 'answers'", "answers is int 5, not a list"],
    ),
}


@pytest.mark.parametrize("case", sorted(DATA_CASES))
def test_bad_data_is_located_and_the_run_dir_removed(case, tmp_path):
    config, damage, phrases = DATA_CASES[case]
    data = data_copy(tmp_path)
    path = damage(data)
    run = tmp_path / "run"
    env = cli_env(MTDNN_DATA=str(data), MTDNN_SMOKE="1")
    result = run_allennlp(["train", config, "-s", str(run)], env=env, check=False)
    text = assert_refused(result, str(path), *phrases)
    assert "Beginning training" not in text  # dev files too are read before the first epoch
    assert not run.exists() and f"removed {run}" in text


def _config(tmp_path: Path, task_change: str) -> Path:
    config = tmp_path / "config.jsonnet"
    config.write_text(
        f"local tasks = import '{ROOT}/training_config/tasks.libsonnet';\n"
        f"local lib = import '{ROOT}/training_config/experiment.libsonnet';\n"
        f"lib.experiment([tasks.rte {{ {task_change} }}])\n"
    )
    return config


CONFIG_CASES = {
    "misspelt_trainer_key": (
        None,
        {"trainer.num_epoch": 2},
        ["unknown key 'trainer.num_epoch'", "Did you mean 'num_epochs'?"],
    ),
    "misspelt_data_loader_key": (
        None,
        {"data_loader.batch_sise": 2},
        ["unknown key 'data_loader.batch_sise'", "Did you mean 'batch_size'?"],
    ),
    "misspelt_model_key": (
        None,
        {"model.hard_loss_weigth": 1.0},
        ["unknown key 'model.hard_loss_weigth'", "Did you mean 'hard_loss_weight'?"],
    ),
    "unknown_loss_name": (
        "loss: 'cross_entropi'",
        {},
        ["Task 'rte': unknown loss 'cross_entropi'", "Did you mean 'cross_entropy'?"],
    ),
    "unknown_kd_loss_name": (
        "kd_loss: 'kl'",
        {},
        ["Task 'rte': unknown kd_loss 'kl'", "Registered losses"],
    ),
    "unknown_metric_name": (
        "metrics: ['acuracy']",
        {},
        ["Task 'rte': unknown metrics ['acuracy'] in its 'metrics' key", "'accuracy'"],
    ),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_bad_config_is_refused_by_name_and_leaves_nothing(case, tmp_path):
    import json

    task_change, overrides, phrases = CONFIG_CASES[case]
    config = _config(tmp_path, task_change) if task_change else "training_config/glue/rte.jsonnet"
    run = tmp_path / "run"
    args = ["train", str(config), "-s", str(run)]
    if overrides:
        args += ["-o", json.dumps(overrides)]
    result = run_allennlp(args, env=cli_env(MTDNN_SMOKE="1"), check=False)
    fix = "How to fix" if overrides else "Task 'rte'"
    assert_refused(result, *phrases, fix=fix)
    assert not run.exists()


def test_a_string_learning_rate_fails_and_leaves_no_run_dir(tmp_path):
    run = tmp_path / "run"
    result = run_allennlp(
        ["train", "training_config/glue/rte.jsonnet", "-s", str(run)]
        + ["-o", '{"trainer.optimizer.lr": "fast"}'],
        env=cli_env(MTDNN_SMOKE="1"),
        check=False,
    )
    assert result.returncode != 0
    assert "'trainer.optimizer.lr' is the string 'fast'; it takes a number" in result.stderr
    assert "How to fix: " in result.stderr
    assert not run.exists()  # refused before the run dir is made
    # The same command runs again once fixed: nothing blocks it.
    run_allennlp(
        ["train", "training_config/glue/rte.jsonnet", "-s", str(run)],
        env=cli_env(MTDNN_SMOKE="1"),
    )
    assert (run / "model.tar.gz").is_file()


def test_skip_invalid_skips_an_undecodable_row(tmp_path):
    data = data_copy(tmp_path)
    _non_utf8_rte(data)
    run = tmp_path / "run"
    result = run_allennlp(
        ["train", "training_config/glue/rte.jsonnet", "-s", str(run)]
        + ["-o", '{"dataset_reader.skip_invalid": true}'],
        env=cli_env(MTDNN_DATA=str(data), MTDNN_SMOKE="1"),
    )
    output = result.stdout + result.stderr  # allennlp logs warnings to stdout
    assert "skipped: " in output and "RTE/train.tsv:3" in output
    assert (run / "model.tar.gz").is_file()


def test_a_field_over_the_csv_limit_trains(tmp_path):
    """A text longer than csv's default field limit (131072 characters) is read like any other
    row (tab-separated layouts split lines themselves), and is truncated to max_length."""
    data = data_copy(tmp_path)
    path = data / "glue/RTE/train.tsv"
    long_text = "word " * 30000  # 150k characters
    edit_line(path, 2, f"0\t{long_text}\tA short hypothesis.\tentailment")
    run = tmp_path / "run"
    result = run_allennlp(
        ["train", "training_config/glue/rte.jsonnet", "-s", str(run)],
        env=cli_env(MTDNN_DATA=str(data), MTDNN_EPOCHS="1"),
    )
    assert (run / "model.tar.gz").is_file()
    assert "truncated to 128 word pieces" in result.stdout + result.stderr
