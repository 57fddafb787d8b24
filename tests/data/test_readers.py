"""The layout readers on the fixture samples, read through the task library's definitions.

Expectations come from parsing the fixture files here (plain string splitting) and from the tiny
encoder's tokenizer called directly, never from the reader under test.
"""

import json
from copy import deepcopy
from functools import cache
from pathlib import Path
from typing import Any, Dict, List, Tuple

import _jsonnet
import pytest
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.common.util import import_module_and_submodules
from allennlp.data import DatasetReader, Instance
from transformers import AutoTokenizer

from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.data.dataset_readers import MultiTaskReader, TaskReader
from mtdnn_allennlp.tasks import TaskDefinition

import_module_and_submodules("mtdnn_allennlp")

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
DATA = FIXTURES / "data"
TINY_BERT = str(FIXTURES / "tiny_bert")
IGNORE = -100


# --- helpers (independent of tests/conftest.py) --------------------------------------------


@cache
def _library_text() -> str:
    return _jsonnet.evaluate_file(
        str(ROOT / "training_config" / "tasks.libsonnet"), ext_vars={"MTDNN_DATA": str(DATA)}
    )


def library() -> Dict[str, Dict[str, Any]]:
    return json.loads(_library_text())


def task(name: str, **overrides: Any) -> TaskDefinition:
    spec = library()[name]
    spec.update(overrides)
    return TaskDefinition.from_params(Params(spec))


def make_reader(name: str, layout: Dict[str, Any] | None = None, **kwargs: Any) -> TaskReader:
    definition = task(name, **({"reader": layout} if layout is not None else {}))
    reader = DatasetReader.from_params(
        Params(deepcopy(definition.reader)), task=definition, encoder=TINY_BERT, **kwargs
    )
    assert isinstance(reader, TaskReader)
    return reader


@cache
def tokenizer():
    return AutoTokenizer.from_pretrained(TINY_BERT)


def tsv(path: Path, header: bool = True) -> Tuple[List[str], List[List[str]]]:
    rows = [line.split("\t") for line in path.read_text("utf-8-sig").splitlines() if line]
    return (rows[0], rows[1:]) if header else ([], rows)


def iob_sentences(path: Path, tag_column: int) -> List[Tuple[List[str], List[str]]]:
    sentences, words, tags = [], [], []
    for line in path.read_text("utf-8").splitlines() + [""]:
        columns = line.split()
        if not columns or columns[0] == "-DOCSTART-":
            if words:
                sentences.append((words, tags))
            words, tags = [], []
        else:
            words.append(columns[0])
            tags.append(columns[tag_column])
    return sentences


def texts(instance: Instance) -> List[str]:
    return tokenizer().convert_ids_to_tokens(instance["tokens"].ids.tolist())


def label_of(instance: Instance) -> int:
    return instance["label"].label


def meta(instance: Instance) -> Dict[str, Any]:
    return instance["metadata"].metadata


def write(tmp_path: Path, name: str, lines: List[str]) -> Path:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def read_error(reader: TaskReader, path: Path) -> DataError:
    with pytest.raises(DataError) as info:
        list(reader.read(str(path)))
    return info.value


def assert_located(
    error: DataError, path: Path, line: int | None, task_name: str, field: str | None
) -> str:
    message = str(error)
    where = f"{path}:{line}" if line is not None else str(path)
    assert where in message
    assert f"task '{task_name}'" in message
    if field is not None:
        assert f"field '{field}'" in message
        assert error.field == field
    assert "How to fix: " in message
    assert (error.file, error.line, error.task) == (str(path), line, task_name)
    return message


RTE_HEADER = "index\tsentence1\tsentence2\tlabel"


# --- glue_tsv -------------------------------------------------------------------------------


def test_rte_rows_labels_tokens_and_segments():
    path = DATA / "glue" / "RTE" / "dev.tsv"
    header, rows = tsv(path)
    assert header == RTE_HEADER.split("\t")
    instances = list(make_reader("rte", max_length=512).read(str(path)))
    assert len(instances) == len(rows) == 32

    declared = ["entailment", "not_entailment"]  # the order of rte's labels in the library
    assert [label_of(i) for i in instances] == [declared.index(row[3]) for row in rows]
    assert {label_of(i) for i in instances} == {0, 1}
    assert [meta(i)["id"] for i in instances] == [row[0] for row in rows]

    first, row = instances[0], rows[0]
    premise, hypothesis = tokenizer().tokenize(row[1]), tokenizer().tokenize(row[2])
    assert texts(first) == ["[CLS]", *premise, "[SEP]", *hypothesis, "[SEP]"]
    assert first["tokens"].ids.tolist() == tokenizer()(row[1], row[2])["input_ids"]
    type_ids = first["tokens"].type_ids.tolist()
    assert type_ids == [0] * (len(premise) + 2) + [1] * (len(hypothesis) + 1)
    assert (meta(first)["premise"], meta(first)["hypothesis"]) == (row[1], row[2])
    assert first["task"].metadata == meta(first)["task"] == "rte"


def test_sst2_single_sentence_with_label_map():
    path = DATA / "glue" / "SST-2" / "train.tsv"
    header, rows = tsv(path)
    instances = list(make_reader("sst2").read(str(path)))
    assert len(instances) == len(rows) == 64
    # label_map {"0": "negative", "1": "positive"}, labels [negative, positive]
    assert [label_of(i) for i in instances] == [int(row[1]) for row in rows]
    first = instances[0]
    assert texts(first)[0] == "[CLS]" and texts(first)[-1] == "[SEP]"
    assert texts(first).count("[SEP]") == 1
    assert set(first["tokens"].type_ids) == {0}
    assert meta(first)["premise"] == rows[0][0] and meta(first)["hypothesis"] is None
    assert meta(first)["id"] == 2  # no index column in SST-2's train: the line number


def test_mrpc_header_with_byte_order_mark():
    path = DATA / "glue" / "MRPC" / "dev.tsv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    header, rows = tsv(path)
    assert header[0] == "Quality"
    instances = list(make_reader("mrpc").read(str(path)))
    assert len(instances) == len(rows) == 12
    # label_map {"0": "not_paraphrase", "1": "paraphrase"}, declared in that order
    assert [label_of(i) for i in instances] == [int(row[0]) for row in rows]
    assert [meta(i)["premise"] for i in instances] == [row[3] for row in rows]
    assert [meta(i)["hypothesis"] for i in instances] == [row[4] for row in rows]
    assert texts(instances[0])[0] == "[CLS]"


def test_mrpc_test_split_has_no_labels():
    path = DATA / "glue" / "MRPC" / "test.tsv"
    header, rows = tsv(path)
    assert "Quality" not in header
    instances = list(make_reader("mrpc").read(str(path)))
    assert len(instances) == len(rows)
    assert all("label" not in i.fields for i in instances)
    assert [meta(i)["id"] for i in instances] == [row[0] for row in rows]


def test_cola_train_without_header():
    path = DATA / "glue" / "CoLA" / "train.tsv"
    _, rows = tsv(path, header=False)
    assert rows[0][0] != "index"
    instances = list(make_reader("cola").read(str(path)))
    assert len(instances) == len(rows) == 64
    assert [label_of(i) for i in instances] == [int(row[1]) for row in rows]
    assert [meta(i)["premise"] for i in instances] == [row[3] for row in rows]
    # Column 0 is the sentence's source, shared by many sentences: the ids are line numbers,
    # unique, so that soft targets and predictions join to the right sentence.
    assert len({row[0] for row in rows}) < len(rows)
    assert [meta(i)["id"] for i in instances] == list(range(1, len(rows) + 1))
    assert texts(instances[0])[0] == "[CLS]"


def test_cola_test_with_header_is_unlabelled():
    path = DATA / "glue" / "CoLA" / "test.tsv"
    header, rows = tsv(path)
    assert header == ["index", "sentence"]
    instances = list(make_reader("cola").read(str(path)))
    assert len(instances) == len(rows) == 16
    assert all("label" not in i.fields for i in instances)
    assert [meta(i)["premise"] for i in instances] == [row[1] for row in rows]
    assert [meta(i)["id"] for i in instances] == [row[0] for row in rows]
    first_words = tokenizer().tokenize(rows[0][1])
    assert texts(instances[0]) == ["[CLS]", *first_words, "[SEP]"]


def test_stsb_float_scores():
    path = DATA / "glue" / "STS-B" / "dev.tsv"
    header, rows = tsv(path)
    score = header.index("score")
    instances = list(make_reader("stsb").read(str(path)))
    assert len(instances) == len(rows) == 32
    labels = [i["label"].tensor for i in instances]
    assert all(label.dtype.is_floating_point and label.dim() == 0 for label in labels)
    assert [float(label) for label in labels] == pytest.approx([float(r[score]) for r in rows])
    assert float(labels[0]) == pytest.approx(1.583)  # not rounded to a class
    assert meta(instances[0])["hypothesis"] == rows[0][header.index("sentence2")]


def test_scitail_headerless_pairs():
    path = DATA / "nli" / "SciTail" / "test.txt"
    _, rows = tsv(path, header=False)
    instances = list(make_reader("scitail").read(str(path)))
    assert len(instances) == len(rows)
    assert [label_of(i) for i in instances] == [int(row[2]) for row in rows]
    assert [meta(i)["hypothesis"] for i in instances] == [row[1] for row in rows]


# --- snli_parallel --------------------------------------------------------------------------


def test_snli_joins_three_parallel_files():
    folder = DATA / "nli" / "SNLI"
    premises = (folder / "s1.test").read_text("utf-8").splitlines()
    hypotheses = (folder / "s2.test").read_text("utf-8").splitlines()
    golds = (folder / "labels.test").read_text("utf-8").splitlines()
    assert len(premises) == len(hypotheses) == len(golds) == 32
    instances = list(make_reader("snli").read(str(folder / "s1.test")))
    assert len(instances) == 32
    declared = ["contradiction", "neutral", "entailment"]
    assert [label_of(i) for i in instances] == [declared.index(g.strip()) for g in golds]
    assert [meta(i)["premise"] for i in instances] == [p.strip() for p in premises]
    assert [meta(i)["hypothesis"] for i in instances] == [h.strip() for h in hypotheses]
    assert [meta(i)["id"] for i in instances] == [f"test-{n}" for n in range(1, 33)]
    assert texts(instances[0])[0] == "[CLS]" and texts(instances[0]).count("[SEP]") == 2


def test_snli_parallel_files_of_different_lengths(tmp_path):
    write(tmp_path, "s1.dev", ["A man sleeps .", "A dog runs ."])
    write(tmp_path, "s2.dev", ["A person rests .", "An animal moves ."])
    write(tmp_path, "labels.dev", ["entailment"])
    error = read_error(make_reader("snli"), tmp_path / "s1.dev")
    message = str(error)
    assert str(tmp_path / "s1.dev") in message and "task 'snli'" in message
    assert "different lengths (['labels.dev'] end after line 1" in message

    write(tmp_path, "labels.dev", ["entailment", "entailment", "neutral"])
    error = read_error(make_reader("snli"), tmp_path / "s1.dev")
    assert "different lengths (['s1.dev', 's2.dev'] end after line 2" in str(error)


# --- conll_iob ------------------------------------------------------------------------------


def expected_word_starts(words: List[str]) -> List[int]:
    starts, position = [], 1  # after [CLS]
    for word in words:
        starts.append(position)
        position += len(tokenizer().tokenize(word))
    return starts


def test_conll2003_word_piece_alignment():
    path = DATA / "ner" / "CoNLL2003" / "valid.txt"
    sentences = iob_sentences(path, tag_column=3)
    declared = library()["conll2003"]["labels"]
    instances = list(make_reader("conll2003", max_length=512).read(str(path)))
    assert len(instances) == len(sentences) == 8
    split_words = 0
    for instance, (words, tags) in zip(instances, sentences, strict=True):
        starts = expected_word_starts(words)
        assert meta(instance)["words"] == words and meta(instance)["tags"] == tags
        assert meta(instance)["word_starts"] == starts
        pieces = texts(instance)
        assert pieces[0] == "[CLS]" and pieces[-1] == "[SEP]"
        expected = [IGNORE] * len(pieces)
        for start, tag in zip(starts, tags, strict=True):
            expected[start] = declared.index(tag)
        labels = instance["label"].tensor.tolist()
        assert labels == expected
        assert labels[0] == IGNORE and labels[-1] == IGNORE
        split_words += sum(pieces[s + 1].startswith("##") for s in starts)
    assert split_words > 0  # the fixture has multi-piece words: their sub-tokens carry -100


def test_bioner_tab_separated_tags():
    path = DATA / "ner" / "BioNER" / "NCBI-disease-IOB" / "devel.tsv"
    sentences = iob_sentences(path, tag_column=1)
    instances = list(make_reader("ncbi_disease", max_length=512).read(str(path)))
    assert len(instances) == len(sentences)
    declared = ["O", "B-Disease", "I-Disease"]
    for instance, (words, tags) in zip(instances, sentences, strict=True):
        starts = meta(instance)["word_starts"]
        labels = instance["label"].tensor
        assert meta(instance)["words"] == words
        assert [int(labels[s]) for s in starts] == [declared.index(t) for t in tags]
        assert int((labels != IGNORE).sum()) == len(words)
    assert any("B-Disease" in tags for _, tags in sentences)


def test_sequence_truncation_drops_labels_of_cut_words():
    path = DATA / "ner" / "BioNER" / "NCBI-disease-IOB" / "test.tsv"
    sentences = iob_sentences(path, tag_column=1)
    reader = make_reader("ncbi_disease", max_length=32)
    instances = list(reader.read(str(path)))
    lengths = [2 + sum(len(tokenizer().tokenize(w)) for w in words) for words, _ in sentences]
    expected = sum(length > 32 for length in lengths)
    assert expected > 0
    assert reader.truncated == expected
    for instance, length in zip(instances, lengths, strict=True):
        assert len(texts(instance)) == min(length, 32)
        assert texts(instance)[-1] == "[SEP]"
        starts = meta(instance)["word_starts"]
        kept = [s for s in starts if s >= 0]
        assert (len(kept) < len(starts)) == (length > 32)
        assert int((instance["label"].tensor != IGNORE).sum()) == len(kept)


def test_pair_truncation_counted():
    path = DATA / "glue" / "RTE" / "dev.tsv"
    _, rows = tsv(path)
    reader = make_reader("rte", max_length=96)
    instances = list(reader.read(str(path)))
    full = [len(tokenizer()(row[1], row[2])["input_ids"]) for row in rows]
    expected = sum(length > 96 for length in full)
    assert 0 < expected < len(rows)
    assert reader.truncated == expected
    assert [len(texts(i)) for i in instances] == [min(length, 96) for length in full]
    assert all(texts(i).count("[SEP]") == 2 for i in instances)
    # the count restarts with every read
    list(reader.read(str(path)))
    assert reader.truncated == expected


# --- jsonl ----------------------------------------------------------------------------------


def test_jsonl_pairs_and_field_map(tmp_path):
    records = [
        {"id": "a", "premise": "The cat sat.", "hypothesis": "A cat sat.", "label": "entailment"},
        {"premise": "Rain fell.", "hypothesis": "It was dry.", "label": "not_entailment", "x": 1},
    ]
    path = write(tmp_path, "rte.jsonl", [json.dumps(r) for r in records] + [""])
    instances = list(make_reader("rte", {"type": "jsonl"}).read(str(path)))
    assert [label_of(i) for i in instances] == [0, 1]
    assert [meta(i)["id"] for i in instances] == ["a", 2]
    assert meta(instances[1])["hypothesis"] == "It was dry."
    assert texts(instances[0]) == [
        "[CLS]",
        *tokenizer().tokenize("The cat sat."),
        "[SEP]",
        *tokenizer().tokenize("A cat sat."),
        "[SEP]",
    ]

    path = write(tmp_path, "sst2.jsonl", [json.dumps({"sentence": "fine film", "label": "1"})])
    layout = {"type": "jsonl", "field_map": {"sentence": "premise"}, "label_map": {"1": "positive"}}
    (instance,) = make_reader("sst2", layout).read(str(path))
    assert meta(instance)["premise"] == "fine film" and label_of(instance) == 1


def test_jsonl_sequence(tmp_path):
    record = {"words": ["Maria", "visited", "Lisbon"], "tags": ["B-PER", "O", "B-LOC"]}
    path = write(tmp_path, "ner.jsonl", [json.dumps(record)])
    (instance,) = make_reader("conll2003", {"type": "jsonl"}).read(str(path))
    starts = expected_word_starts(record["words"])
    assert meta(instance)["word_starts"] == starts
    labels = instance["label"].tensor.tolist()
    assert [labels[s] for s in starts] == [1, 0, 5]  # B-PER, O, B-LOC in the declared order
    assert labels.count(IGNORE) == len(labels) - 3


# --- bad input ------------------------------------------------------------------------------


def test_tsv_row_with_wrong_column_count(tmp_path):
    path = write(
        tmp_path,
        "rte.tsv",
        [RTE_HEADER, "1\tA b.\tC d.\tentailment", "2\tA b.\tstray\tC d.\tentailment"],
    )
    message = assert_located(read_error(make_reader("rte"), path), path, 3, "rte", None)
    assert "5 columns where the header has 4" in message


def test_headerless_tsv_row_too_short(tmp_path):
    path = write(tmp_path, "scitail.txt", ["A b .\tC d .\t0", "only a premise"])
    error = read_error(make_reader("scitail"), path)
    message = assert_located(error, path, 2, "scitail", "hypothesis")
    assert "1 columns" in message


def test_unknown_label(tmp_path):
    path = write(
        tmp_path, "rte.tsv", [RTE_HEADER, "1\tA b.\tC d.\tentailment", "2\tA b.\tC d.\tmaybe"]
    )
    message = assert_located(read_error(make_reader("rte"), path), path, 3, "rte", "label")
    assert "unknown label 'maybe'" in message
    assert "['entailment', 'not_entailment']" in message


def test_unknown_label_after_label_map(tmp_path):
    path = write(tmp_path, "sst2.tsv", ["sentence\tlabel", "good film\t1", "odd film\t2"])
    message = assert_located(read_error(make_reader("sst2"), path), path, 3, "sst2", "label")
    assert "unknown label '2' (after label_map)" in message


def test_empty_text(tmp_path):
    path = write(
        tmp_path, "rte.tsv", [RTE_HEADER, "1\tA b.\tC d.\tentailment", "2\t  \tC d.\tentailment"]
    )
    message = assert_located(read_error(make_reader("rte"), path), path, 3, "rte", "premise")
    assert "premise is empty" in message


def test_regression_label_not_a_number(tmp_path):
    header = (
        "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore"
    )
    row = "1\tg\tf\t2012\t0\tnone\tnone\tA man.\tA woman.\thigh"
    path = write(tmp_path, "stsb.tsv", [header, row])
    message = assert_located(read_error(make_reader("stsb"), path), path, 2, "stsb", "label")
    assert "'high' is not a number" in message


def test_conll_line_without_tag(tmp_path):
    path = write(tmp_path, "ncbi.tsv", ["Myotonic\tB-Disease", "dystrophy", ""])
    error = read_error(make_reader("ncbi_disease"), path)
    message = assert_located(error, path, 2, "ncbi_disease", "tags")
    assert "'dystrophy' has no tag column" in message


def test_conll2003_line_missing_its_ner_column(tmp_path):
    path = write(
        tmp_path,
        "conll.txt",
        ["-DOCSTART- -X- -X- O", "", "EU NNP B-NP B-ORG", "rejects VBZ B-VP", ""],
    )
    error = read_error(make_reader("conll2003"), path)
    assert_located(error, path, 4, "conll2003", "tags")


def test_sequence_with_unknown_tag(tmp_path):
    path = write(tmp_path, "ncbi.tsv", ["Myotonic\tB-Disease", "dystrophy\tB-Gene", ""])
    error = read_error(make_reader("ncbi_disease"), path)
    message = assert_located(error, path, 2, "ncbi_disease", "tags")  # the tag's own line
    assert "unknown label 'B-Gene'" in message


def test_missing_data_file(tmp_path):
    path = tmp_path / "glue" / "RTE" / "train.tsv"
    error = read_error(make_reader("rte"), path)
    message = str(error)
    assert str(path) in message and "task 'rte'" in message
    assert "not found" in message
    assert "How to fix: " in message and "MTDNN_DATA" in message


def test_jsonl_line_that_is_not_json(tmp_path):
    good = json.dumps({"premise": "A b.", "hypothesis": "C d.", "label": "entailment"})
    path = write(tmp_path, "rte.jsonl", [good, "{premise: A b.}"])
    error = read_error(make_reader("rte", {"type": "jsonl"}), path)
    assert "not valid JSON" in assert_located(error, path, 2, "rte", None)

    path = write(tmp_path, "list.jsonl", [good, good, '["A b.", "C d."]'])
    error = read_error(make_reader("rte", {"type": "jsonl"}), path)
    assert "not a JSON object" in assert_located(error, path, 3, "rte", None)


def test_jsonl_missing_input_field(tmp_path):
    path = write(tmp_path, "rte.jsonl", [json.dumps({"premise": "A b.", "label": "entailment"})])
    error = read_error(make_reader("rte", {"type": "jsonl"}), path)
    message = assert_located(error, path, 1, "rte", "hypothesis")
    assert "no hypothesis" in message


def test_skip_invalid_skips_and_counts(tmp_path):
    path = write(
        tmp_path,
        "rte.tsv",
        [
            RTE_HEADER,
            "1\tA b.\tC d.\tentailment",
            "2\tA b.\tstray\tC d.\tentailment",
            "3\tA b.\tC d.\tmaybe",
            "4\t \tC d.\tentailment",
            "5\tE f.\tG h.\tnot_entailment",
        ],
    )
    reader = make_reader("rte", skip_invalid=True)
    instances = list(reader.read(str(path)))
    assert [meta(i)["id"] for i in instances] == ["1", "5"]
    assert [label_of(i) for i in instances] == [0, 1]
    assert reader.skipped == 3 and reader.read_count == 2

    conll = write(tmp_path, "ncbi.tsv", ["Myotonic\tB-Disease", "", "broken", "", "DM\tO", ""])
    reader = make_reader("ncbi_disease", skip_invalid=True)
    assert [meta(i)["words"] for i in reader.read(str(conll))] == [["Myotonic"], ["DM"]]
    assert reader.skipped == 1


# --- mtdnn_multitask ------------------------------------------------------------------------


def multitask(*names: str, **kwargs: Any) -> MultiTaskReader:
    return MultiTaskReader([task(name) for name in names], encoder=TINY_BERT, **kwargs)


def test_multitask_reader_reads_each_task_with_its_layout():
    reader = multitask("rte", "cola")
    paths = {
        "rte": str(DATA / "glue" / "RTE" / "dev.tsv"),
        "cola": str(DATA / "glue" / "CoLA" / "dev.tsv"),
    }
    instances = list(reader.read(paths))
    tasks = [i["task"].metadata for i in instances]
    assert tasks == ["rte"] * 32 + ["cola"] * 32
    assert meta(instances[32])["hypothesis"] is None
    assert {type(r).__name__ for r in reader.readers.values()} == {"GlueTsvReader"}


def test_multitask_reader_unknown_task_in_data_paths():
    reader = multitask("rte", "sst2")
    with pytest.raises(ConfigurationError, match=r"unknown task 'mnli'.*\['rte', 'sst2'\]"):
        reader.task_paths({"rte": "a.tsv", "mnli": "b.tsv"})
    with pytest.raises(ConfigurationError, match="unknown task 'qqp'"):
        list(reader.read({"qqp": str(DATA / "glue" / "RTE" / "dev.tsv")}))


def test_multitask_reader_rejects_a_reader_that_is_not_a_task_reader():
    definition = task("rte", reader={"type": "sequence_tagging"})
    with pytest.raises(ConfigurationError, match="'sequence_tagging' is not a task reader"):
        MultiTaskReader([definition], encoder=TINY_BERT)


def test_multitask_reader_configuration_errors():
    with pytest.raises(ConfigurationError, match="Two tasks share a name"):
        MultiTaskReader([task("rte"), task("rte")], encoder=TINY_BERT)
    with pytest.raises(ConfigurationError, match=r"unknown tasks \['mnli'\]"):
        multitask("rte", max_length_per_task={"mnli": 64})


def test_multitask_reader_task_paths_forms():
    single = multitask("rte")
    path = str(DATA / "glue" / "RTE" / "dev.tsv")
    assert single.task_paths(path) == {"rte": path}
    assert single.task_paths(json.dumps({"rte": path})) == {"rte": path}
    assert single.task_paths("  " + json.dumps({"rte": path})) == {"rte": path}
    assert single.task_paths({"rte": path}) == {"rte": path}
    assert len(list(single.read(path))) == 32

    pair = multitask("rte", "sst2")
    both = {"rte": path, "sst2": str(DATA / "glue" / "SST-2" / "dev.tsv")}
    assert pair.task_paths(json.dumps(both)) == both
    with pytest.raises(ConfigurationError, match="no task given.*2 tasks"):
        pair.task_paths(path)


def test_multitask_reader_per_task_settings():
    reader = multitask("rte", "sst2", max_length=24, max_length_per_task={"sst2": 16})
    assert (reader.readers["rte"].max_length, reader.readers["sst2"].max_length) == (24, 16)
    rte = list(reader.read_task("rte", str(DATA / "glue" / "RTE" / "dev.tsv")))
    assert max(len(texts(i)) for i in rte) == 24
    instance = reader.text_to_instance(task="sst2", premise="a fine film", label="1")
    assert texts(instance) == ["[CLS]", *tokenizer().tokenize("a fine film"), "[SEP]"]
    assert label_of(instance) == 1


def test_a_task_reads_a_list_of_files_in_order_as_one_set():
    reader = multitask("snli")
    dev, test = str(DATA / "nli" / "SNLI" / "s1.dev"), str(DATA / "nli" / "SNLI" / "s1.test")
    one_by_one = [texts(i) for path in (dev, test) for i in reader.read_task("snli", path)]
    together = [texts(i) for i in reader.read_task("snli", [dev, {"path": test}])]
    assert together == one_by_one
    assert len(together) == sum(len(list(reader.read_task("snli", p))) for p in (dev, test)) > 0
    assert reader.task_paths({"snli": [dev, test]}) == {"snli": [dev, test]}
    with pytest.raises(ConfigurationError, match="task 'snli': the list of files is empty"):
        reader.task_paths({"snli": []})
    with pytest.raises(ConfigurationError, match="unknown keys"):
        reader.task_paths({"snli": [dev, {"path": test, "sampel": 3}]})


# --- subsets --------------------------------------------------------------------------------


def test_sample_size_takes_a_seeded_subset_in_file_order():
    path = DATA / "glue" / "RTE" / "dev.tsv"
    all_ids = [meta(i)["id"] for i in make_reader("rte").read(str(path))]

    def sampled(seed: int) -> List[str]:
        reader = make_reader("rte", sample_size=10, sample_seed=seed)
        return [meta(i)["id"] for i in reader.read(str(path))]

    first, again, other = sampled(1), sampled(1), sampled(2)
    assert len(first) == 10 and len(set(first)) == 10
    assert first == again
    assert first != other
    assert set(first) <= set(all_ids)
    assert first == [i for i in all_ids if i in set(first)]  # file order kept
    assert first != all_ids[:10]  # not simply the head of the file


def test_sample_size_larger_than_the_file_reads_everything():
    path = DATA / "glue" / "RTE" / "dev.tsv"
    reader = make_reader("rte", sample_size=10_000)
    assert len(list(reader.read(str(path)))) == 32


def test_sample_size_below_one_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="sample_size"):
        make_reader("rte", sample_size=0)


@pytest.mark.parametrize("cached", [False, True])
def test_multiprocess_loading_reads_every_example_exactly_once(tmp_path, cached):
    # allennlp's MultiProcessDataLoader gives each worker process a copy of the reader; the
    # readers shard the examples between the workers themselves.
    from allennlp.data import Vocabulary
    from allennlp.data.data_loaders import MultiProcessDataLoader

    path = str(DATA / "glue" / "RTE" / "train.tsv")
    settings = {"cache_directory": str(tmp_path)} if cached else {}
    alone = [i["metadata"]["id"] for i in make_reader("rte", **settings).read(path)]
    loader = MultiProcessDataLoader(
        make_reader("rte", **settings), path, batch_size=4, num_workers=2, max_instances_in_memory=8
    )
    loader.index_with(Vocabulary())
    ids = [each for batch in loader for each in (m["id"] for m in batch["metadata"])]
    assert len(alone) > 8
    assert sorted(ids) == sorted(alone)


def test_a_non_finite_regression_score_is_refused(tmp_path):
    header = (
        "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore"
    )
    for score in ("inf", "-inf", "nan"):
        row = f"1\tg\tf\ty\t0\tn\tn\tA man.\tA man.\t{score}"
        path = write(tmp_path, f"stsb_{score}.tsv", [header, row])
        message = str(read_error(make_reader("stsb"), path))
        assert f"{path}:2" in message and "field 'label'" in message
        assert f"label '{score}' is not a finite number" in message


def test_a_reader_that_opens_its_file_itself_locates_undecodable_bytes(tmp_path):
    path = tmp_path / "text.txt"
    path.write_bytes(b"A first sentence.\nA second one.\nA th\xffird.\n")
    message = str(read_error(make_reader("mlm"), path))
    assert f"{path}:3" in message and "not utf-8 text" in message and "byte 4 of" in message
    assert "How to fix" in message
