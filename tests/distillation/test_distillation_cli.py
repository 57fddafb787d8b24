"""End to end through the stock CLI: scripts/distill_pipeline.sh (two multi-task teachers, each
refined on every task, per-task ensemble soft targets merged into one file, BiLSTM student, ONNX
export; and with REFINE=0), the small-transformer student, and the exported predictor against
`allennlp predict`."""

import json
import shutil
import subprocess
import sys

import pytest

from mtdnn_allennlp.distillation.soft_targets import teacher_records
from tests.conftest import ALLENNLP, FIXTURES, ROOT, cli_env, run_allennlp

GLUE4 = ["rte", "mrpc", "stsb", "sst2"]

pytestmark = pytest.mark.slow

INPUTS = [
    line
    for line in (FIXTURES / "demo" / "inputs.jsonl").read_text().splitlines()
    if json.loads(line)["task"] in ("rte", "sst2", "stsb", "mrpc")
]


def _run_pipeline(out, check=True, **env):
    settings = dict(MTDNN_SMOKE="1", TEACHER_SEEDS="1 2", STUDENT="bilstm")
    settings.update(env)
    env = cli_env(ALLENNLP=str(ALLENNLP), PYTHON=sys.executable, **settings)
    result = subprocess.run(
        ["bash", "scripts/distill_pipeline.sh", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    if check:
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    out = tmp_path_factory.mktemp("pipeline")
    # REFINE left at its default: refinement on. Whole fixture files for one epoch, not smoke
    # mode: a smoke run of one task is a single batch, taken at the warm-up's learning rate of
    # 0, so a refined teacher would equal the multi-task one and the test could not tell them
    # apart. Later runs reusing these teachers are smoke runs.
    _run_pipeline(out, MTDNN_SMOKE="0", MTDNN_EPOCHS="1")
    return out


def _reuse(pipeline, out, runs):
    """A second pipeline run in `out` that reuses the first one's trained runs."""
    for run in runs:
        shutil.copytree(pipeline / run, out / run)


def _records(path):
    return {(r["task"], r["id"]): r for r in map(json.loads, path.read_text().splitlines())}


def test_pipeline_averages_the_two_teachers(pipeline):
    averaged = _records(pipeline / "soft_targets.jsonl")
    one = _records(pipeline / "soft_targets_per_teacher" / "teacher_0.jsonl")
    two = _records(pipeline / "soft_targets_per_teacher" / "teacher_1.jsonl")
    assert set(averaged) == set(one) == set(two)
    assert {task for task, _ in averaged} == {"rte", "mrpc", "stsb", "sst2"}
    for key, record in averaged.items():
        if "score" in record:
            assert record["score"] == pytest.approx((one[key]["score"] + two[key]["score"]) / 2)
        else:
            mean = [
                (a + b) / 2
                for a, b in zip(one[key]["probabilities"], two[key]["probabilities"], strict=True)
            ]
            assert record["probabilities"] == pytest.approx(mean)
    # Different seeds give different teachers, so the average is not a copy of one of them.
    assert any(one[key] != two[key] for key in one)


def test_pipeline_refines_every_teacher_on_every_task(pipeline):
    for seed in (1, 2):
        for task in GLUE4:
            run = pipeline / f"refined_seed{seed}_{task}"
            config = json.loads((run / "config.json").read_text())
            assert [each["name"] for each in config["model"]["tasks"]] == [task]
            init = config["model"]["init_from_archive"]
            assert init["archive_file"] == str(pipeline / f"teacher_seed{seed}" / "model.tar.gz")
            assert init["heads"] == [task] and init["encoder"] is True
            assert config["random_seed"] == seed
            assert json.loads((run / "metrics.json").read_text())["training_loss"] > 0


def test_soft_targets_come_from_the_refined_teachers_and_are_merged_per_task(pipeline):
    merged = _records(pipeline / "soft_targets.jsonl")
    by_task = {
        task: _records(pipeline / "soft_targets_by_task" / f"{task}.jsonl") for task in GLUE4
    }
    for task, records in by_task.items():
        assert records and {each for each, _ in records} == {task}
    assert merged == {
        key: record for records in by_task.values() for key, record in records.items()
    }
    # Teacher 0's labels of RTE are the seed-1 teacher refined on RTE, not the multi-task one.
    train = json.loads((pipeline / "teacher_seed1" / "config.json").read_text())["train_data_path"]
    rte_path = {"rte": train["rte"]}
    refined = teacher_records(str(pipeline / "refined_seed1_rte" / "model.tar.gz"), rte_path)
    multitask = teacher_records(str(pipeline / "teacher_seed1" / "model.tar.gz"), rte_path)
    teacher_0 = _records(pipeline / "soft_targets_per_teacher" / "teacher_0.jsonl")
    for key, record in refined.items():
        assert teacher_0[key]["probabilities"] == pytest.approx(record["probabilities"], abs=1e-6)
    assert any(
        record["probabilities"] != pytest.approx(multitask[key]["probabilities"], abs=1e-6)
        for key, record in refined.items()
    )


def test_pipeline_labels_only_the_students_subset_task_by_task(pipeline, tmp_path):
    # MTDNN_TRAIN_EXAMPLES: each task's refined teachers label the subset the student reads;
    # the student's reader fails on any example without a soft target.
    runs = [f"teacher_seed{s}" for s in (1, 2)]
    runs += [f"refined_seed{s}_{task}" for s in (1, 2) for task in GLUE4]
    _reuse(pipeline, tmp_path, runs)
    result = _run_pipeline(tmp_path, MTDNN_TRAIN_EXAMPLES="3", MTDNN_SEED="7")
    assert "refine teacher seed 2 on sst2: already trained, reused" in result.stdout
    merged = _records(tmp_path / "soft_targets.jsonl")
    assert sorted(task for task, _ in merged) == sorted(GLUE4 * 3)
    assert json.loads((tmp_path / "student_bilstm" / "metrics.json").read_text())["training_loss"]


def test_pipeline_without_refinement_labels_with_the_multitask_teachers(pipeline, tmp_path):
    _reuse(pipeline, tmp_path, ["teacher_seed1", "teacher_seed2"])
    result = _run_pipeline(tmp_path, REFINE="0")
    assert "single-task refinement: skipped (REFINE=0)" in result.stdout
    assert not list(tmp_path.glob("refined_*")) and not (tmp_path / "soft_targets_by_task").exists()
    train = json.loads((pipeline / "teacher_seed1" / "config.json").read_text())["train_data_path"]
    multitask = teacher_records(str(pipeline / "teacher_seed1" / "model.tar.gz"), train)
    teacher_0 = _records(tmp_path / "soft_targets_per_teacher" / "teacher_0.jsonl")
    assert set(teacher_0) == set(multitask)
    for key, record in multitask.items():
        if "score" in record:
            assert teacher_0[key]["score"] == pytest.approx(record["score"], abs=1e-6)
        else:
            assert teacher_0[key]["probabilities"] == pytest.approx(record["probabilities"])
    assert (tmp_path / "student_bilstm_onnx" / "model.onnx").is_file()
    bad = _run_pipeline(tmp_path / "bad", check=False, REFINE="yes")
    assert bad.returncode == 2 and "REFINE must be 0 or 1, not 'yes'" in bad.stderr


def test_pipeline_trains_the_bilstm_student_and_exports_it(pipeline, tmp_path):
    student = pipeline / "student_bilstm"
    metrics = json.loads((student / "metrics.json").read_text())
    assert metrics["training_loss"] > 0 and "validation_average" in metrics
    config = json.loads((student / "config.json").read_text())
    assert config["dataset_reader"]["type"] == "mtdnn_distillation"
    assert config["model"]["encoder"]["type"] == "bilstm"
    export = pipeline / "student_bilstm_onnx"
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text("\n".join(INPUTS) + "\n")
    # The exported predictor runs in a Python that never imports torch or allennlp.
    code = (
        "import runpy, sys; sys.argv = sys.argv[1:]; "
        "runpy.run_path(sys.argv[0], run_name='__main__'); "
        "print(json.dumps(sorted(m for m in ('torch', 'allennlp', 'transformers') "
        "if m in sys.modules)), file=sys.stderr)"
    )
    onnx = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            "import json; " + code,
            str(export / "predict_onnx.py"),
            str(export),
            str(inputs),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert onnx.stderr.strip().splitlines()[-1] == "[]"
    predicted = tmp_path / "predicted.jsonl"
    run_allennlp(
        [
            "predict",
            str(student / "model.tar.gz"),
            str(inputs),
            "--output-file",
            str(predicted),
            "--silent",
        ]
    )
    torch_rows = [json.loads(line) for line in predicted.read_text().splitlines()]
    onnx_rows = [json.loads(line) for line in onnx.stdout.splitlines()]
    assert len(onnx_rows) == len(torch_rows) == len(INPUTS)
    for ours, theirs in zip(onnx_rows, torch_rows, strict=True):
        assert ours["id"] == theirs["id"]
        if "score" in theirs:
            assert ours["score"] == pytest.approx(theirs["score"], abs=1e-4)
        else:
            assert ours["label"] == theirs["label"]
            for label, value in theirs["probabilities"].items():
                assert ours["probabilities"][label] == pytest.approx(value, abs=1e-4)


def test_small_transformer_student_trains_through_the_cli(tmp_path):
    out = tmp_path / "student"
    run_allennlp(
        ["train", "training_config/distillation/student_small_transformer.jsonnet", "-s", str(out)],
        env=cli_env(MTDNN_SMOKE="1"),
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["training_loss"] > 0
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["encoder"] == {
        "type": "transformer_student",
        "model_name": str(ROOT / "fixtures" / "tiny_bert"),
        "num_layers": 2,
    }


def test_soft_targets_from_a_wrong_file_fail_loudly(tmp_path):
    soft = tmp_path / "soft.jsonl"
    rows = (FIXTURES / "distillation" / "glue4_soft_targets.jsonl").read_text().splitlines()
    soft.write_text("\n".join(row for row in rows if '"id": "59"' not in row) + "\n")
    result = run_allennlp(
        [
            "train",
            "training_config/distillation/student_bilstm.jsonnet",
            "-s",
            str(tmp_path / "run"),
        ],
        env=cli_env(MTDNN_SOFT_TARGETS=str(soft)),
        check=False,
    )
    assert result.returncode != 0
    assert f"{soft}" in result.stderr and "example id '59'" in result.stderr


def test_benchmark_reports_dev_scores_of_the_pipelines_archives(pipeline, tmp_path, monkeypatch):
    from benchmarks import distillation as bench

    monkeypatch.delenv("MTDNN_DATA", raising=False)  # dev inputs timed: the fixtures' RTE
    refined = ",".join(str(pipeline / f"refined_seed1_{task}") for task in GLUE4)
    results = bench.main(
        [
            "--quick",
            "--repetitions",
            "1",
            "--teacher",
            str(pipeline / "teacher_seed1" / "model.tar.gz"),
            "--student",
            f"bilstm={pipeline / 'student_bilstm' / 'model.tar.gz'}",
            "--dev",
            f"refined_teacher={refined}",
            "--output",
            str(tmp_path / "bench.json"),
        ]
    )
    assert set(results["models"]) == {"teacher", "bilstm"}  # speed rows: the archives
    assert results["models"]["bilstm"]["parameters"] > 0
    dev = results["dev"]["models"]
    student = json.loads((pipeline / "student_bilstm" / "metrics.json").read_text())
    teacher = json.loads((pipeline / "teacher_seed1" / "metrics.json").read_text())

    def glue4(metrics):
        keys = [f"best_validation_{t}_{bench.MAIN_METRIC[t]}" for t in GLUE4]
        return sum(metrics[key] for key in keys) / 4

    assert dev["bilstm"]["glue4_average"] == pytest.approx(glue4(student))
    assert dev["teacher"]["glue4_average"] == pytest.approx(glue4(teacher))
    assert dev["bilstm"]["kept"] == pytest.approx(glue4(student) / glue4(teacher))
    assert dev["bilstm"]["meets_target"] == (dev["bilstm"]["kept"] >= 0.97)
    for task in GLUE4:
        run = json.loads((pipeline / f"refined_seed1_{task}" / "metrics.json").read_text())
        key = f"best_validation_{task}_{bench.MAIN_METRIC[task]}"
        assert dev["refined_teacher"]["scores"][task] == run[key]
    assert json.loads((tmp_path / "bench.json").read_text())["dev"] == results["dev"]


def test_soft_targets_override_the_teachers_archived_reader(pipeline, tmp_path):
    # A teacher trained with a reader since corrected (CoLA once took a non-unique column as the
    # id) is read with corrected columns: here RTE without its id column, so ids are lines.
    out = tmp_path / "soft.jsonl"
    rte = str(FIXTURES / "data" / "glue" / "RTE" / "train.tsv")
    columns = {"premise": "sentence1", "hypothesis": "sentence2", "label": "label"}
    run_allennlp(
        [
            "soft-targets",
            str(pipeline / "teacher_seed1" / "model.tar.gz"),
            json.dumps({"rte": rte}),
            "--output-file",
            str(out),
            "-o",
            json.dumps({"validation_dataset_reader.tasks.0.reader.columns": columns}),
        ],
        env=cli_env(),
    )
    rows = out.read_text().splitlines()
    index_column = [line.split("\t")[0] for line in open(rte).read().splitlines()[1:]]
    assert [json.loads(row)["id"] for row in rows] == [str(n) for n in range(2, len(rows) + 2)]
    assert len(rows) == len(index_column) and index_column[0] != "2"
