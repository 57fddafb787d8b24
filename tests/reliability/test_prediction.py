"""`allennlp predict` on bad input lines: the file and line are named, output line N is input
line N (with `skip_invalid`, an error record in place of each bad line), a failed run leaves no
output file, and a truncated input is flagged."""

import json

import pytest

from tests.support.reliability import assert_refused, leftovers, run_allennlp

pytestmark = pytest.mark.slow

GOOD = {"task": "rte", "id": "g", "premise": "Paris is in France.", "hypothesis": "It is."}
LONG = {"task": "sst2", "id": "long", "premise": "a very long review " * 200}

# case: (the bad line's text, what the message says)
BAD_LINES = {
    "invalid_json": ('{"task": "rte", "premise": "a"', "not valid JSON"),
    "empty_line": ("", "empty line"),
    "json_array": ('["rte", "a", "b"]', "a JSON array, not an object"),
    "list_premise": (
        '{"task": "rte", "premise": ["a", "b"], "hypothesis": "c"}',
        "premise is a list, not a text",
    ),
    "missing_field": ('{"task": "rte", "premise": "a"}', "no hypothesis for task 'rte'"),
    "unknown_task": ('{"task": "mnli", "premise": "a", "hypothesis": "b"}', "unknown task"),
}


def _inputs(tmp_path, bad_line: str):
    path = tmp_path / "inputs.jsonl"
    lines = [json.dumps(GOOD), json.dumps(GOOD), bad_line, json.dumps(LONG), json.dumps(GOOD)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _predict(archive, inputs, output, *extra):
    args = ["predict", str(archive), str(inputs), "--output-file", str(output), "--silent"]
    return run_allennlp(args + ["--batch-size", "8", *extra], check=False)


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_a_bad_line_names_file_and_line_and_writes_no_output(case, demo_archive, tmp_path):
    bad_line, problem = BAD_LINES[case]
    inputs = _inputs(tmp_path, bad_line)
    output = tmp_path / "predictions.jsonl"
    result = _predict(demo_archive, inputs, output)
    assert_refused(result, f"{inputs}:3", problem, fix="skip_invalid")
    assert not output.exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_skip_invalid_writes_an_error_record_in_place(case, demo_archive, tmp_path):
    bad_line, problem = BAD_LINES[case]
    inputs = _inputs(tmp_path, bad_line)
    output = tmp_path / "predictions.jsonl"
    result = _predict(demo_archive, inputs, output, "--predictor-args", '{"skip_invalid": true}')
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert len(records) == 5  # output line N is input line N
    assert records[2]["line"] == 3 and problem in records[2]["error"]
    assert [records[i]["id"] for i in (0, 1, 3, 4)] == ["g", "g", "long", "g"]
    assert all("label" in records[i] for i in (0, 1, 3, 4))
    assert records[3]["truncated"] is True and "truncated" not in records[0]
    assert leftovers(tmp_path) == []
