"""A new dataset from config alone, end to end through the stock CLI: TREC's line format, a
test file in another layout, dev and test size knobs, valid BIO predictions, input echo."""

import json

import pytest

from tests.conftest import FIXTURES, cli_env, is_valid_bio, run_allennlp

pytestmark = pytest.mark.slow

DATA = FIXTURES / "data"


def predict_with_inputs(archive, data, out, *extra):
    """`allennlp predict` with the input fields echoed; the output lines as dicts."""
    run_allennlp(
        ["predict", str(archive), str(data), "--output-file", str(out), "--silent", *extra]
        + ["--predictor-args", '{"include_input": true}']
    )
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def test_trec_trains_from_its_original_format_and_predicts(tmp_path):
    run = tmp_path / "trec"
    run_allennlp(
        ["train", "training_config/tutorial/trec.jsonnet", "-s", str(run)],
        env=cli_env(MTDNN_EPOCHS="1"),
    )
    metrics = json.loads((run / "metrics.json").read_text())
    assert 0.0 <= metrics["validation_trec_accuracy"] <= 1.0
    inputs = tmp_path / "questions.jsonl"
    inputs.write_text(
        json.dumps({"id": 7, "premise": "Who wrote Hamlet ?"})
        + "\n"
        + json.dumps({"id": "q-08", "premise": "Where is Lisbon ?"})
        + "\n"
    )
    predictions = predict_with_inputs(run / "model.tar.gz", inputs, tmp_path / "predictions.jsonl")
    assert [p["id"] for p in predictions] == [7, "q-08"]  # each id keeps its JSON type
    assert [p["input"] for p in predictions] == [
        {"premise": "Who wrote Hamlet ?"},
        {"premise": "Where is Lisbon ?"},
    ]
    assert all(p["label"] in ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM") for p in predictions)


@pytest.fixture(scope="module")
def ner_run(trained_run):
    """CoNLL-2003 and NCBI-disease on the fixtures, validated on 5 dev sentences per task and
    tested on 6 test sentences (MTDNN_DEV_EXAMPLES, MTDNN_TEST_EXAMPLES)."""
    return trained_run(
        "training_config/ner/ner_mtl.jsonnet",
        MTDNN_EPOCHS="1",
        MTDNN_DEV_EXAMPLES="5",
        MTDNN_TEST_EXAMPLES="6",
    )


def test_dev_and_test_size_knobs_sample_seeded_subsets(ner_run):
    config = json.loads((ner_run / "config.json").read_text())
    dev = config["validation_data_path"]["conll2003"]
    assert (dev["sample"], dev["sample_seed"]) == (5, 2018)
    assert dev["path"].endswith("CoNLL2003/valid.txt")
    assert config["test_data_path"]["ncbi_disease"]["sample"] == 6
    assert config["evaluate_on_test"] is True
    metrics = json.loads((ner_run / "metrics.json").read_text())
    assert "test_conll2003_span_f1" in metrics and "test_ncbi_disease_span_f1" in metrics
    log = (ner_run / "out.log").read_text()
    # Each validation epoch reads the 5 sampled sentences of each dev file, not the whole file.
    assert "task conll2003: 5 instances from" in log
    assert "task ncbi_disease: 6 instances from" in log


def test_tagging_predictions_are_valid_bio_on_the_conll_fixture(ner_run, tmp_path):
    valid = DATA / "ner" / "CoNLL2003" / "valid.txt"
    predictions = predict_with_inputs(
        ner_run / "model.tar.gz",
        json.dumps({"conll2003": str(valid)}),
        tmp_path / "tags.jsonl",
        "--use-dataset-reader",
    )
    sentences = (DATA / "ner" / "CoNLL2003" / "valid.txt").read_text().split("\n\n")
    assert len(predictions) == len([s for s in sentences if s.strip() and "-DOCSTART-" not in s])
    for prediction in predictions:
        assert len(prediction["tags"]) == len(prediction["input"]["words"])
        assert is_valid_bio(prediction["tags"]), prediction
        assert isinstance(prediction["id"], int)  # no id column: the sentence's first line


def test_evaluate_reads_a_test_file_in_a_declared_layout(tmp_path):
    run = tmp_path / "stsb"
    run_allennlp(
        ["train", "training_config/glue/stsb.jsonnet", "-s", str(run)],
        env=cli_env(MTDNN_EPOCHS="1", MTDNN_TRAIN_EXAMPLES="16"),
    )
    gold = tmp_path / "sts-test.csv"
    gold.write_text(
        "main-captions\tMSRvid\t2012test\t0001\t5.000\tA girl is styling her hair.\t"
        "A girl is brushing her hair.\n"
        "main-news\theadlines\t2013\t0002\t0.600\tStocks fall sharply.\tA cat sleeps.\n"
        "main-news\theadlines\t2013\t0003\t2.400\tA man plays a guitar.\tA man sings.\n"
    )
    plain = run_allennlp(
        ["evaluate", str(run / "model.tar.gz"), json.dumps({"stsb": str(gold)})], check=False
    )
    assert plain.returncode != 0
    assert "looks like data, not a header" in plain.stderr and "header: false" in plain.stderr
    metrics_file = tmp_path / "metrics.json"
    data_file = {"stsb": {"path": str(gold), "layout": "gold_test"}}
    run_allennlp(
        [
            "evaluate",
            str(run / "model.tar.gz"),
            json.dumps(data_file),
            "--output-file",
            str(metrics_file),
        ]
    )
    metrics = json.loads(metrics_file.read_text())
    assert -1.0 <= metrics["stsb_pearson"] <= 1.0
