"""The plugin's subcommands on bad input: a named error and nothing half-written (no partial
soft-target, submission or export files, no temporary folders)."""

import pytest

from tests.support.reliability import (
    assert_refused,
    cli_env,
    data_copy,
    leftovers,
    run_allennlp,
)

pytestmark = pytest.mark.slow

RTE_TRAIN = '{"rte": "fixtures/data/glue/RTE/train.tsv"}'


def _not_an_archive(tmp_path):
    path = tmp_path / "model.tar.gz"
    path.write_text("this is not an archive\n")
    return path


def _truncated_archive(tmp_path, demo_archive):
    path = tmp_path / "model.tar.gz"
    path.write_bytes(demo_archive.read_bytes()[:5000])
    return path


COMMANDS = {
    "predict": lambda archive, out: ["predict", str(archive), "fixtures/demo/inputs.jsonl"]
    + ["--output-file", str(out / "p.jsonl"), "--silent"],
    "evaluate": lambda archive, out: ["evaluate", str(archive), RTE_TRAIN],
    "export-onnx": lambda archive, out: ["export-onnx", str(archive), str(out / "onnx")],
    "soft-targets": lambda archive, out: ["soft-targets", str(archive), RTE_TRAIN]
    + ["--output-file", str(out / "soft.jsonl")],
    "glue-submission": lambda archive, out: ["glue-submission", str(archive)]
    + ["--output-dir", str(out / "submission")],
}


@pytest.mark.parametrize("damage", ["not_an_archive", "truncated_archive"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_broken_archive_is_named_and_leaves_no_tmp_folders(
    command, damage, demo_archive, tmp_path
):
    archive = (
        _not_an_archive(tmp_path)
        if damage == "not_an_archive"
        else _truncated_archive(tmp_path, demo_archive)
    )
    out, scratch = tmp_path / "out", tmp_path / "scratch"
    out.mkdir()
    scratch.mkdir()
    result = run_allennlp(
        COMMANDS[command](archive, out), env=cli_env(TMPDIR=str(scratch)), check=False
    )
    assert_refused(result, str(archive), "is not a readable model archive", fix="Give the")
    assert list(scratch.iterdir()) == []  # no extracted tmpXXXXXXXX folders
    assert list(out.iterdir()) == []


def test_a_failing_teacher_is_named_and_nothing_is_written(demo_archive, tmp_path):
    broken = _not_an_archive(tmp_path)
    output, per_teacher = tmp_path / "soft.jsonl", tmp_path / "teachers"
    result = run_allennlp(
        ["soft-targets", f"{demo_archive},{broken}", RTE_TRAIN]
        + ["--output-file", str(output), "--per-teacher-dir", str(per_teacher)],
        check=False,
    )
    assert_refused(result, f"teacher 1 of 2 ({broken})", fix="Nothing was written")
    assert not output.exists() and not per_teacher.exists()
    assert leftovers(tmp_path) == []


def test_soft_targets_of_two_teachers_are_written_whole(demo_archive, tmp_path):
    output, per_teacher = tmp_path / "soft.jsonl", tmp_path / "teachers"
    run_allennlp(
        ["soft-targets", f"{demo_archive},{demo_archive}", RTE_TRAIN]
        + ["--output-file", str(output), "--per-teacher-dir", str(per_teacher)]
    )
    rows = len(output.read_text().splitlines())
    assert rows > 0
    for name in ("teacher_0.jsonl", "teacher_1.jsonl"):
        assert len((per_teacher / name).read_text().splitlines()) == rows
    assert leftovers(tmp_path, per_teacher) == []


def test_glue_submission_checks_every_input_first_and_names_data_dir(demo_archive, tmp_path):
    glue = data_copy(tmp_path) / "glue"
    (glue / "STS-B" / "test.tsv").unlink()
    output = tmp_path / "submission"
    result = run_allennlp(
        ["glue-submission", str(demo_archive), "--output-dir", str(output)]
        + ["--data-dir", str(glue)],
        check=False,
    )
    assert_refused(result, str(glue / "STS-B" / "test.tsv"), f"--data-dir {glue}")
    assert "MTDNN_DATA" not in result.stderr.split("Traceback")[-1]
    assert not output.exists()  # not RTE.tsv and SST-2.tsv before failing on STS-B
    assert leftovers(tmp_path) == []


def test_glue_submission_and_onnx_export_appear_whole(demo_archive, tmp_path):
    output = tmp_path / "submission"
    run_allennlp(["glue-submission", str(demo_archive), "--output-dir", str(output)])
    assert sorted(p.name for p in output.iterdir()) == ["RTE.tsv", "SST-2.tsv", "STS-B.tsv"]
    onnx = tmp_path / "onnx"
    run_allennlp(["export-onnx", str(demo_archive), str(onnx)])
    assert {"model.onnx", "labels.json", "predict_onnx.py"} <= {p.name for p in onnx.iterdir()}
    assert leftovers(tmp_path) == []


def test_merging_a_binary_file_is_a_located_data_error(tmp_path):
    binary = tmp_path / "soft.jsonl"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary")
    output = tmp_path / "merged.jsonl"
    result = run_allennlp(
        ["merge-soft-targets", str(binary), "--output-file", str(output)], check=False
    )
    assert_refused(result, f"{binary}:1", "not UTF-8 text")
    assert "UnicodeDecodeError" not in result.stderr
    assert not output.exists()
