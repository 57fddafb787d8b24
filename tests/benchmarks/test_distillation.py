"""benchmarks/distillation.py's dev-score report: per-task main metrics from runs' metrics.json,
the GLUE-4 average, the student/teacher ratio against the 97% target."""

import json

import pytest

from benchmarks import distillation as bench

TEACHER = {"rte": 0.70, "mrpc": 0.85, "stsb": 0.88, "sst2": 0.93}


def _run(folder, scores, average=None, **extra):
    folder.mkdir(parents=True)
    metrics = {f"best_validation_{t}_{bench.MAIN_METRIC[t]}": v for t, v in scores.items()}
    if average is not None:
        metrics["best_validation_average"] = average
    metrics.update(extra)
    (folder / "metrics.json").write_text(json.dumps(metrics))
    return str(folder)


def test_dev_scores_read_each_tasks_main_metric_from_a_run(tmp_path):
    run = _run(tmp_path / "t", TEACHER, average=0.8, best_validation_mrpc_f1=0.9)
    for given in (run, f"{run}/model.tar.gz", f"{run}/metrics.json"):
        assert bench.dev_scores([given]) == {**TEACHER, "average": 0.8}


def test_dev_scores_of_per_task_runs_are_joined_and_overlaps_refused(tmp_path):
    runs = [_run(tmp_path / task, {task: value}, average=value) for task, value in TEACHER.items()]
    # Each refined run's own average covers one task: it is not the model's average.
    assert bench.dev_scores(runs) == TEACHER
    twice = _run(tmp_path / "again", {"rte": 0.5})
    with pytest.raises(ValueError, match="rte is scored by both .*rte/metrics.json and"):
        bench.dev_scores(runs + [twice])
    with pytest.raises(FileNotFoundError, match="no metrics.json"):
        bench.dev_scores([str(tmp_path / "nowhere")])


def test_compare_dev_averages_the_four_tasks_and_checks_the_target():
    kept = {task: value * 0.98 for task, value in TEACHER.items()}
    lost = {task: value * 0.90 for task, value in TEACHER.items()}
    partial = {"rte": 0.6, "sst2": 0.9}
    dev = bench.compare_dev({"teacher": TEACHER, "good": kept, "bad": lost, "part": partial})
    rows = dev["models"]
    assert rows["teacher"]["glue4_average"] == pytest.approx(sum(TEACHER.values()) / 4)
    assert "kept" not in rows["teacher"]
    assert rows["good"]["kept"] == pytest.approx(0.98) and rows["good"]["meets_target"] is True
    assert rows["bad"]["kept"] == pytest.approx(0.90) and rows["bad"]["meets_target"] is False
    assert rows["part"]["missing"] == ["mrpc", "stsb"] and "glue4_average" not in rows["part"]
    table = bench.dev_table(dev)
    assert "| good | 0.6860 | 0.8330 | 0.8624 | 0.9114 | 0.8232 | 98.0% | met (>= 97%) |" in table
    assert "| bad |" in table and "missed (>= 97%)" in table


def test_scores_only_command_reports_per_task_teachers_against_a_student(tmp_path, capsys):
    refined = [_run(tmp_path / f"refined_{t}", {t: v}) for t, v in TEACHER.items()]
    student = _run(tmp_path / "student", {t: v * 0.96 for t, v in TEACHER.items()}, average=0.8)
    output = tmp_path / "dev.json"
    results = bench.main(
        [
            "--scores-only",
            "--dev",
            "teacher=" + ",".join(refined),
            "--student",
            f"bilstm={student}/model.tar.gz",
            "--output",
            str(output),
        ]
    )
    assert json.loads(output.read_text()) == results
    row = results["dev"]["models"]["bilstm"]
    assert row["kept"] == pytest.approx(0.96) and row["meets_target"] is False
    assert "| bilstm |" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        bench.main(["--scores-only"])
