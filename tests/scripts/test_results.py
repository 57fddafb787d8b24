"""scripts/results.py: the run plan, the paired statistics and the chart of a campaign group."""

import json
import statistics

import pytest

from scripts import results


@pytest.fixture
def finished(tmp_path, monkeypatch):
    """`finished(row, {seed: accuracy})` writes the metrics.json a run of mtl_full would leave."""
    monkeypatch.setattr(results, "ROOT", tmp_path)
    monkeypatch.setattr(results, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(results, "SUMMARIES", tmp_path / "summaries")
    monkeypatch.setattr(results, "RECORDS", tmp_path / "summaries" / "runs")

    def write(row_name, accuracies):
        row = results.row_named("mtl_full", row_name)
        for seed, accuracy in accuracies.items():
            folder = results.run_dir("mtl_full", row, seed)
            folder.mkdir(parents=True)
            metrics = {"best_validation_rte_accuracy": accuracy}
            (folder / "metrics.json").write_text(json.dumps(metrics))

    return write


def test_the_plan_goes_seed_by_seed_with_each_refinement_after_its_stage_one():
    plan = [(row.name, seed) for _, row, seed in results.run_plan("mtl_full", [], [1, 2])]
    assert plan[:4] == [
        ("rte", 1),
        ("rte+nli", 1),
        ("rte-equal-updates", 1),
        ("rte+nli-refined", 1),
    ]
    assert [seed for _, seed in plan] == [1] * 4 + [2] * 4
    only = results.run_plan("mtl_full", ["rte", "rte+nli"], [])
    assert [(row.name, seed) for _, row, seed in only][:3] == [
        ("rte", 1),
        ("rte+nli", 1),
        ("rte", 2),
    ]


def test_a_refinement_starts_from_the_archive_of_its_own_seed():
    row = results.row_named("mtl_full", "rte+nli-refined")
    env = results.run_env("mtl_full", row, 3)
    assert env["MTDNN_INIT_ARCHIVE"] == "results/mtl_full/rte_nli/seed3/model.tar.gz"
    assert "MTDNN_INIT_ARCHIVE=results/mtl_full/rte_nli/seed3" in results.shown("mtl_full", row, 3)


def test_paired_difference_and_its_t_interval_by_hand(finished):
    finished("rte", {1: 0.50, 2: 0.60, 3: 0.55, 4: 0.58})
    finished("rte+nli", {1: 0.53, 2: 0.64, 3: 0.56, 5: 0.70})  # seed 4 and 5 are unpaired
    comparison = results.Comparison("rte", "rte+nli", "rte accuracy")
    result = results.paired("mtl_full", comparison)
    assert result["seeds"] == [1, 2, 3]
    assert result["differences"] == pytest.approx([3.0, 4.0, 1.0])
    # mean 2.667, sd 1.528, t(0.975, 2) = 4.303: half-width 4.303 * 1.528 / sqrt(3) = 3.795
    assert result["mean"] == pytest.approx(8 / 3)
    half = 4.302653 * statistics.stdev([3.0, 4.0, 1.0]) / 3**0.5
    assert result["interval"] == pytest.approx([8 / 3 - half, 8 / 3 + half], abs=1e-4)
    assert result["beyond_noise"] is False  # the interval reaches below 0
    assert "not shown" in results.describe(result)


def test_an_interval_that_excludes_zero_is_beyond_noise(finished):
    finished("rte", {1: 0.50, 2: 0.52, 3: 0.54})
    finished("rte+nli", {1: 0.55, 2: 0.57, 3: 0.60})
    result = results.paired("mtl_full", results.Comparison("rte", "rte+nli", "rte accuracy"))
    assert result["interval"][0] > 0 and result["beyond_noise"] is True
    assert "beyond noise" in results.describe(result)


def test_one_pair_is_too_few_for_an_interval(finished):
    finished("rte", {1: 0.50})
    finished("rte+nli", {1: 0.55})
    result = results.paired("mtl_full", results.Comparison("rte", "rte+nli", "rte accuracy"))
    assert "mean" not in result and "too few" in results.describe(result)


def test_table_and_chart_are_written(finished, capsys):
    finished("rte", {1: 0.50, 2: 0.60, 3: 0.55})
    finished("rte+nli", {1: 0.53, 2: 0.64, 3: 0.56})
    results.table("mtl_full")
    printed = capsys.readouterr().out
    assert "| rte+nli minus rte (rte accuracy) | 3 | +2.67" in printed
    summary = json.loads((results.SUMMARIES / "mtl_full.json").read_text())
    assert [row["run"] for row in summary["rows"]] == ["rte", "rte+nli"]
    assert summary["paired"][0]["differences"] == pytest.approx([3.0, 4.0, 1.0])
    png = results.chart("mtl_full")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_a_finished_run_leaves_a_record_that_a_fresh_checkout_resumes_and_reports_from(
    finished, tmp_path, monkeypatch
):
    finished("rte", {1: 0.6, 2: 0.62})
    finished("rte+nli", {1: 0.65, 2: 0.66})
    trained = []
    monkeypatch.setattr(results.subprocess, "call", lambda *a, **k: trained.append(a) or 1)
    for name in ("rte", "rte+nli"):
        row = results.row_named("mtl_full", name)
        for seed in (1, 2):
            assert results.train_one("mtl_full", row, seed, 1).startswith("done before")
    record = json.loads((tmp_path / "summaries/runs/mtl_full/rte_nli/seed2.json").read_text())
    assert record["metrics"] == {"best_validation_rte_accuracy": 0.66}
    assert "MTDNN_SEED=2" in record["command"]
    # A fresh checkout: results/ is gone, the records are not.
    import shutil

    shutil.rmtree(tmp_path / "results")
    rte = results.row_named("mtl_full", "rte")
    assert results.train_one("mtl_full", rte, 1, 1).startswith("recorded before")
    assert trained == []
    assert results.per_seed("mtl_full", rte, "rte accuracy") == {1: 60.0, 2: 62.0}
    assert results.paired("mtl_full", results.Comparison("rte", "rte+nli", "rte accuracy"))[
        "differences"
    ] == pytest.approx([5.0, 4.0])


def test_a_recorded_run_whose_archive_a_refinement_needs_is_trained_again(
    finished, tmp_path, monkeypatch
):
    finished("rte+nli", {1: 0.65})
    mtl = results.row_named("mtl_full", "rte+nli")
    results.train_one("mtl_full", mtl, 1, 1)  # writes the record
    import shutil

    shutil.rmtree(tmp_path / "results")
    trained = []
    monkeypatch.setattr(results.subprocess, "call", lambda cmd, **k: trained.append(cmd) or 1)
    message = results.train_one("mtl_full", mtl, 1, 1)
    assert message.startswith("FAILED") and len(trained) == 1  # it tried to train it again
    refined = results.row_named("mtl_full", "rte+nli-refined")
    results.record_path("mtl_full", refined, 1).parent.mkdir(parents=True)
    results.record_path("mtl_full", refined, 1).write_text(json.dumps({"metrics": {}}))
    assert results.train_one("mtl_full", mtl, 1, 1).startswith("recorded before")


def _write_metrics(group, row_name, seed, metrics):
    folder = results.run_dir(group, results.row_named(group, row_name), seed)
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(metrics))


def _distill_metrics(rte, mrpc, stsb, cola):
    return {
        "best_validation_rte_accuracy": rte,
        "best_validation_mrpc_accuracy": mrpc,
        "best_validation_mrpc_f1": 0.5,  # reported, not part of the average
        "best_validation_stsb_pearson": stsb,
        "best_validation_cola_mcc": cola,
    }


def test_the_students_kept_fraction_by_hand(finished, capsys):
    # The teacher is glue4_full's multi-task seed 2: its run is that group's.
    _write_metrics("glue4_full", "glue4", 2, _distill_metrics(0.60, 0.80, 0.84, 0.30))
    _write_metrics("distill_full", "bilstm", 1, _distill_metrics(0.55, 0.75, 0.70, 0.12))
    _write_metrics("distill_full", "bilstm", 2, _distill_metrics(0.57, 0.76, 0.72, 0.15))
    kept = results.retention("distill_full", results.GROUPS["distill_full"]["retention"])
    assert kept["reference_average"] == pytest.approx(63.5)  # (60 + 80 + 84 + 30) / 4
    bilstm = kept["students"]["bilstm"]
    assert bilstm["kept"] == pytest.approx([53.0 / 63.5, 55.0 / 63.5])
    half = 12.706204736 * statistics.stdev(bilstm["kept"]) / 2**0.5  # t(0.975, 1 df)
    assert bilstm["interval"] == pytest.approx([54.0 / 63.5 - half, 54.0 / 63.5 + half])
    assert bilstm["meets_target"] is False
    assert "small-transformer" not in kept["students"]  # not run: not reported
    results.table("distill_full")
    printed = capsys.readouterr().out
    assert "| bilstm | 2 | 85.0% [" in printed and "| missed | 83.5%, 86.6% |" in printed
    summary = json.loads((results.SUMMARIES / "distill_full.json").read_text())
    assert summary["retention"]["students"]["bilstm"]["seeds"] == [1, 2]
    png = results.chart("distill_full")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_students_run_after_what_they_read_from_the_teachers_archive(finished, monkeypatch):
    calls = []

    def call(cmd, cwd, env, stdout, stderr):
        calls.append(cmd)
        if cmd[1] == "train":
            out = results.ROOT / cmd[cmd.index("-s") + 1]
            out.mkdir(parents=True)
            (out / "metrics.json").write_text("{}")
            (out / "model.tar.gz").write_bytes(b"")
        if cmd[1] == "soft-targets":
            out = results.ROOT / cmd[cmd.index("--output-file") + 1]
            out.write_text('{"task": "rte", "id": "0", "probabilities": [0.5, 0.5]}\n')
        if cmd[1] == "export-encoder":
            (results.ROOT / cmd[3]).mkdir(parents=True)
            (results.ROOT / cmd[3] / "config.json").write_text("{}")
        return 0

    monkeypatch.setattr(results.subprocess, "call", call)
    teacher = results.row_named("glue4_full", "glue4")
    record = results.record_path("glue4_full", teacher, 2)
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"metrics": {}}))  # recorded, but no archive on this machine
    results.prepare("distill_full", threads=1)
    train, soft, export = calls
    assert train[1:4] == ["train", "training_config/glue/glue4.jsonnet", "-s"]
    assert train[4] == "results/glue4_full/glue4/seed2"  # trained again for its archive
    assert soft[1:3] == ["soft-targets", "results/glue4_full/glue4/seed2/model.tar.gz"]
    assert set(json.loads(soft[3])) == {"rte", "mrpc", "stsb", "cola"}
    overrides = json.loads(soft[soft.index("-o") + 1])
    assert overrides["validation_dataset_reader.tasks.3.reader.columns"] == {
        "label": 1,
        "premise": 3,
    }
    # The fine-tuned teacher's encoder, for the student initialised from it.
    assert export[1:4] == [
        "export-encoder",
        "results/glue4_full/glue4/seed2/model.tar.gz",
        results.DISTILL_TEACHER_ENCODER,
    ]
    calls.clear()
    results.prepare("distill_full", threads=1)  # both are there: nothing runs
    assert calls == []
    row = results.row_named("distill_full", "bilstm")
    assert results.run_env("distill_full", row, 1)["MTDNN_SOFT_TARGETS"] == (
        results.DISTILL_SOFT_TARGETS
    )
    from_teacher = results.run_env(
        "distill_full", results.row_named("distill_full", "small-transformer-from-teacher"), 1
    )
    assert from_teacher["MTDNN_ENCODER"] == results.DISTILL_TEACHER_ENCODER


def test_the_sweeps_settings_reach_the_adversarial_callback_and_the_held_out_split():
    from allennlp.common import Params

    for row in results.GROUPS["smart_sweep"]["rows"]:
        params = Params.from_file(
            str(results.ROOT / "training_config" / row.config),
            params_overrides=json.dumps(row.overrides),
        ).as_dict()
        callback = params["trainer"]["callbacks"][3]
        assert callback["type"] == "mtdnn_adversarial_training"
        for key, value in row.overrides.items():
            assert callback[key.rsplit(".", 1)[1]] == value
        train, held_out = params["train_data_path"]["rte"], params["validation_data_path"]["rte"]
        assert held_out == {**train, "held_out": True}  # the rest of the same sample
    defaults = results.GROUPS["smart_sweep"]["rows"][0]
    assert defaults.overrides == {} and "defaults" in defaults.name


def test_a_record_keeps_the_adversarial_monitors_and_not_the_other_training_figures(finished):
    row = results.row_named("smart_full", "rte-smart")
    folder = results.run_dir("smart_full", row, 1)
    folder.mkdir(parents=True)
    metrics = {
        "best_validation_rte_accuracy": 0.59,
        "training_adv_loss": 0.029,
        "training_adv_noise_norm": 0.015,
        "training_loss": 0.55,
        "validation_rte_accuracy": 0.57,
    }
    (folder / "metrics.json").write_text(json.dumps(metrics))
    record = json.loads(results.write_record("smart_full", row, 1, 60.0).read_text())
    assert record["metrics"] == {
        "best_validation_rte_accuracy": 0.59,
        "training_adv_loss": 0.029,
        "training_adv_noise_norm": 0.015,
    }
    assert record["wall_seconds"] == 60


def _step_time_record(path, ratios):
    rows = [{"mode": mode, "ratio_to_plain_median": ratio} for mode, ratio in ratios.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"rows": rows}))


def test_the_gain_per_extra_run_of_compute_by_hand(finished, capsys):
    benchmarks = results.ROOT / "benchmarks" / "results"
    _step_time_record(
        benchmarks / "adversarial_step_time.json", {"plain": 1.0, "adversarial_k1": 3.0}
    )
    _step_time_record(benchmarks / "adversarial_step_time_r3f.json", {"plain": 1.0, "r3f": 2.0})
    for seed, (plain, smart, r3f) in enumerate([(0.60, 0.62, 0.61), (0.58, 0.64, 0.60)], 1):
        _write_metrics("r3f", "rte", seed, {"best_validation_rte_accuracy": plain})
        _write_metrics("r3f", "rte-smart", seed, {"best_validation_rte_accuracy": smart})
        _write_metrics("r3f", "rte-r3f", seed, {"best_validation_rte_accuracy": r3f})
    plain, smart, r3f = results.per_compute("r3f", results.GROUPS["r3f"]["step_cost"])
    assert plain == {"run": "rte", "step_cost": 1.0, "figure_mean": pytest.approx(59.0)}
    # SMART: gains +2 and +6 points at 3x a plain step, i.e. 2 extra plain runs of compute.
    assert smart["step_cost"] == 3.0 and smart["gain"] == pytest.approx(4.0)
    assert smart["gain_per_extra_run"] == pytest.approx(2.0)
    half = 12.706204736 * statistics.stdev([1.0, 3.0]) / 2**0.5  # t(0.975, 1 df)
    assert smart["gain_per_extra_run_interval"] == pytest.approx([2.0 - half, 2.0 + half])
    # R3F: +1 and +2 at 2x, one extra run.
    assert r3f["gain"] == pytest.approx(1.5) and r3f["gain_per_extra_run"] == pytest.approx(1.5)
    assert r3f["timed_in"] == "adversarial_step_time_r3f.json (r3f)"
    results.table("r3f")
    printed = capsys.readouterr().out
    assert "| rte-smart | 3.00 | 63.0 | +4.00 [" in printed
    summary = json.loads((results.SUMMARIES / "r3f.json").read_text())
    assert [row["run"] for row in summary["per_compute"]] == ["rte", "rte-smart", "rte-r3f"]
    png = results.chart("r3f")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_a_step_cost_names_a_mode_its_record_timed(finished):
    record = results.ROOT / "benchmarks" / "results" / "timed.json"
    _step_time_record(record, {"plain": 1.0, "r3f": 2.0})
    assert results.step_cost("timed.json", "r3f") == 2.0
    with pytest.raises(SystemExit, match="no mode 'smart' \\(it timed plain, r3f\\)"):
        results.step_cost("timed.json", "smart")


def test_the_committed_step_costs_are_read_from_the_benchmark_records():
    # The r3f group's costs come from the committed records, not from numbers typed in here.
    for record, mode in results.GROUPS["r3f"]["step_cost"].timed_as.values():
        assert 1.5 < results.step_cost(record, mode) < 3.5


def test_the_stronger_smart_row_is_the_sweeps_best_stronger_setting_by_the_records():
    from allennlp.common import Params

    sweep = results.GROUPS["smart_sweep"]["rows"]
    held_out = {}
    for row in sweep[1:]:  # the first is MT-DNN's defaults, not a stronger setting
        record = json.loads(results.record_path("smart_sweep", row, 1).read_text())
        held_out[row.name] = (record["metrics"]["best_validation_rte_accuracy"], row.overrides)
    best_overrides = max(held_out.values(), key=lambda pair: pair[0])[1]
    stronger = results.row_named("smart_full", "rte-smart-alpha5")
    assert stronger.overrides == best_overrides == results.STRONGER_SMART
    # It runs the defaults' config (the full train and dev), with only the override changed.
    assert stronger.config == results.row_named("smart_full", "rte-smart").config
    params = Params.from_file(
        str(results.ROOT / "training_config" / stronger.config),
        params_overrides=json.dumps(stronger.overrides),
    ).as_dict()
    callback = params["trainer"]["callbacks"][3]
    assert callback["type"] == "mtdnn_adversarial_training" and callback["adv_alpha"] == 5.0
