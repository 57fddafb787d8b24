"""The line-based layouts for any dataset: `mtdnn_delimited` (any separator, quoting, header or
none, encodings), `mtdnn_regex` (TREC), and data-file objects that pick another layout or a
sample for one file. Expectations come from the files as written here, never from the reader."""

import json

import pytest
from allennlp.common.checks import ConfigurationError

from mtdnn_allennlp.tasks import TaskDefinition
from tests.data.test_readers import (
    DATA,
    assert_located,
    label_of,
    make_reader,
    meta,
    multitask,
    read_error,
    task,
    write,
)

SST2_LABELS = ["negative", "positive"]


def delimited(**layout):
    return make_reader("sst2", {"type": "mtdnn_delimited", **layout})


def test_any_separator_with_columns_by_position(tmp_path):
    path = write(tmp_path, "s.txt", ["good film ||| positive", "dull plot ||| negative"])
    reader = delimited(separator=" ||| ", header=False, columns={"premise": 0, "label": 1})
    instances = list(reader.read(str(path)))
    assert [meta(i)["premise"] for i in instances] == ["good film", "dull plot"]
    assert [label_of(i) for i in instances] == [1, 0]
    assert [meta(i)["id"] for i in instances] == [1, 2]  # no id column: the line number


def test_columns_by_position_with_a_header(tmp_path):
    path = write(tmp_path, "s.csv", ["text,gold", "fine,positive"])
    reader = delimited(separator=",", columns={"premise": 0, "label": "gold"})
    assert [meta(i)["premise"] for i in reader.read(str(path))] == ["fine"]


def test_quoting_keeps_separators_and_newlines_inside_fields(tmp_path):
    path = write(
        tmp_path,
        "s.csv",
        [
            "id,sentence,label",
            '7,"Good, not great",positive',
            '8,"He said ""no""',
            'twice",negative',
        ],
    )
    reader = delimited(separator=",", quoting=True, columns={"premise": "sentence", "id": "id"})
    instances = list(reader.read(str(path)))
    assert [meta(i)["premise"] for i in instances] == ["Good, not great", 'He said "no"\ntwice']
    assert [meta(i)["id"] for i in instances] == ["7", "8"]
    # Without quoting the comma splits the text, and the row is too wide.
    unquoted = delimited(separator=",", columns={"premise": "sentence", "label": "label"})
    assert "4 columns where the header has 3" in str(read_error(unquoted, path))


def test_quoting_needs_a_one_character_separator():
    with pytest.raises(ConfigurationError, match="quoting needs a one-character separator"):
        delimited(separator="||", quoting=True, columns={"premise": 0})


def test_a_line_that_does_not_decode_is_a_located_bad_row(tmp_path):
    path = tmp_path / "s.tsv"
    path.write_bytes(b"sentence\tlabel\ngood\t1\nna\xefve film\t0\nfine\t1\n")
    error = read_error(make_reader("sst2"), path)
    message = assert_located(error, path, 3, "sst2", None)
    assert "not valid utf-8" in message and "encoding: 'latin-1'" in message

    skipping = make_reader("sst2", skip_invalid=True)
    assert [meta(i)["premise"] for i in skipping.read(str(path))] == ["good", "fine"]
    assert skipping.skipped == 1

    latin = make_reader("sst2", {**task("sst2").reader, "encoding": "latin-1"})
    assert [meta(i)["premise"] for i in latin.read(str(path))][1] == "naïve film"

    replacing = make_reader("sst2", {**task("sst2").reader, "errors": "replace"})
    assert [meta(i)["premise"] for i in replacing.read(str(path))][1] == "na\ufffdve film"


def test_bad_encoding_settings_are_configuration_errors():
    with pytest.raises(ConfigurationError, match="unknown encoding: klingon"):
        delimited(columns={"premise": 0}, encoding="klingon")
    with pytest.raises(ConfigurationError, match="errors to strict, replace"):
        delimited(columns={"premise": 0}, errors="shrug")
    with pytest.raises(ConfigurationError, match="Convert it to UTF-8"):
        delimited(columns={"premise": 0}, encoding="utf-16")


def test_a_field_longer_than_the_csv_limit_is_read(tmp_path):
    long_text = "word " * 40000  # 200k characters: over csv's default field limit of 131072
    path = write(tmp_path, "s.tsv", ["sentence\tlabel", f"{long_text}\t1"])
    (instance,) = make_reader("sst2").read(str(path))
    assert meta(instance)["premise"] == long_text


def test_header_hint_offers_header_false_when_the_first_line_is_data(tmp_path):
    path = write(tmp_path, "sst2_test.tsv", ["a gripping and moving film\t1", "dull\t0"])
    message = str(read_error(make_reader("sst2"), path))
    assert "looks like data, not a header" in message and "header: false" in message
    assert "set the reader's columns" not in message
    named = write(tmp_path, "named.tsv", ["text\tgold", "fine\t1"])
    message = str(read_error(make_reader("sst2"), named))
    assert "the header is ['text', 'gold']" in message and "header: false" not in message


# --- mtdnn_regex: TREC ----------------------------------------------------------------------


def test_trec_fixture_reads_the_coarse_label_from_latin_1_lines():
    path = DATA / "trec" / "train_5500.label"
    raw = path.read_bytes()
    assert b"\xed" in raw  # Latin-1, not UTF-8: "Garc\xeda"
    lines = raw.decode("latin-1").splitlines()
    instances = list(make_reader("trec").read(str(path)))
    assert len(instances) == len(lines) == 36
    labels = task("trec").labels
    expected = [labels.index(line.split(":", 1)[0]) for line in lines]
    assert [label_of(i) for i in instances] == expected
    texts = [line.split(" ", 1)[1] for line in lines]
    assert [meta(i)["premise"] for i in instances] == texts
    assert any("García Márquez" in text for text in texts)


def test_regex_line_that_does_not_match_is_located_and_skippable(tmp_path):
    path = write(tmp_path, "trec.label", ["HUM:ind Who killed Gandhi ?", "no label here", ""])
    reader = make_reader("trec", {**task("trec").reader, "encoding": "utf-8"})
    message = assert_located(read_error(reader, path), path, 2, "trec", None)
    assert "does not match the reader's pattern" in message
    skipping = make_reader("trec", {**task("trec").reader}, skip_invalid=True)
    assert [meta(i)["premise"] for i in skipping.read(str(path))] == ["Who killed Gandhi ?"]


def test_regex_field_map_and_configuration_errors(tmp_path):
    path = write(tmp_path, "q.txt", ["[LOC] Where is Lisbon ?"])
    layout = {
        "type": "mtdnn_regex",
        "pattern": r"\[(?P<coarse>[A-Z]+)\] (?P<question>.+)",
        "field_map": {"coarse": "label", "question": "premise"},
    }
    (instance,) = make_reader("trec", layout).read(str(path))
    assert meta(instance)["premise"] == "Where is Lisbon ?"
    assert label_of(instance) == task("trec").labels.index("LOC")
    with pytest.raises(ConfigurationError, match=r"no group for \['premise'\]"):
        make_reader("trec", {"type": "mtdnn_regex", "pattern": r"(?P<label>\w+) .*"})
    with pytest.raises(ConfigurationError, match="does not compile"):
        make_reader("trec", {"type": "mtdnn_regex", "pattern": "(?P<premise>"})


# --- data-file objects: another layout, reader changes, a sample ----------------------------


def stsb_gold_rows(tmp_path):
    rows = [
        "main-captions\tMSRvid\t2012test\t0001\t5.000\tA girl is styling her hair.\tA girl is "
        "brushing her hair.",
        "main-news\theadlines\t2013\t0002\t0.600\tStocks fall.\tA cat sleeps.",
    ]
    return write(tmp_path, "sts-test.csv", rows)


def test_a_declared_layout_reads_a_file_laid_out_differently(tmp_path):
    path = stsb_gold_rows(tmp_path)
    reader = multitask("stsb", "rte")
    with pytest.raises(ConfigurationError, match="looks like data"):
        list(reader.read(json.dumps({"stsb": str(path)})))
    instances = list(reader.read(json.dumps({"stsb": {"path": str(path), "layout": "gold_test"}})))
    assert [float(i["label"].tensor) for i in instances] == pytest.approx([5.0, 0.6])
    assert [meta(i)["id"] for i in instances] == ["0001", "0002"]
    assert meta(instances[1])["hypothesis"] == "A cat sleeps."
    # The same changes given inline.
    inline = {"header": False, "columns": {"label": 4, "premise": 5, "hypothesis": 6}}
    again = list(reader.read(json.dumps({"stsb": {"path": str(path), "reader": inline}})))
    assert [meta(i)["premise"] for i in again] == [meta(i)["premise"] for i in instances]


def read_ids(reader, data_paths) -> list:
    """The example ids the multi-task reader reads from `data_paths` (a dict, as in a config)."""
    return [meta(i)["id"] for i in reader.read(json.dumps(data_paths))]


def test_a_sampled_data_file_takes_a_seeded_subset():
    reader = multitask("rte")
    path = str(DATA / "glue" / "RTE" / "dev.tsv")
    whole = read_ids(reader, {"rte": path})
    spec = {"rte": {"path": path, "sample": 5, "sample_seed": 3}}
    first = read_ids(reader, spec)
    assert len(first) == 5 and set(first) < set(whole)
    assert first == sorted(first, key=whole.index)  # file order kept
    assert read_ids(reader, spec) == first
    spec["rte"]["sample_seed"] = 4
    assert read_ids(reader, spec) != first


def test_a_held_out_data_file_is_the_rest_of_the_same_sample():
    reader = multitask("rte")
    path = str(DATA / "glue" / "RTE" / "dev.tsv")
    whole = read_ids(reader, {"rte": path})
    spec = {"rte": {"path": path, "sample": 20, "sample_seed": 3}}
    chosen = read_ids(reader, spec)
    spec["rte"]["held_out"] = True
    rest = read_ids(reader, spec)
    assert len(chosen) == 20 and len(rest) == len(whole) - 20
    assert not set(chosen) & set(rest) and sorted(chosen + rest) == sorted(whole)
    assert rest == [each for each in whole if each in set(rest)]  # file order kept
    with pytest.raises(ConfigurationError, match="sample_held_out .* no sample_size"):
        list(reader.read(json.dumps({"rte": {"path": path, "held_out": True}})))


def test_bad_data_file_objects_are_named():
    reader = multitask("stsb")
    with pytest.raises(ConfigurationError, match="declares no layout 'gold'"):
        reader.task_paths({"stsb": {"path": "x", "layout": "gold"}})
    with pytest.raises(ConfigurationError, match=r"unknown keys \['size'\]"):
        reader.task_paths({"stsb": {"path": "x", "size": 3}})
    with pytest.raises(ConfigurationError, match="neither a path nor an object"):
        reader.task_paths({"stsb": {"layout": "gold_test"}})


def test_task_layouts_are_part_of_the_definition():
    stsb = task("stsb")
    assert stsb.layouts["gold_test"]["header"] is False
    spec = dict(name="t", task_type="classification", data_format="premise_only")
    plain = TaskDefinition(**spec, labels=["a", "b"], reader={"type": "glue_tsv", "columns": {}})
    assert plain.layouts == {}
