"""The next-sentence reader: pairs never cross a document, negatives come from other documents,
the pairs are the same on every read, and bad set-ups are refused.

Expected pairs are worked out from the test's own documents, not taken from the reader.
"""

from pathlib import Path
from typing import Any, List

import pytest
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.common.util import import_module_and_submodules
from allennlp.data import DatasetReader

from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.data.dataset_readers import NextSentenceReader
from mtdnn_allennlp.tasks import TaskDefinition

import_module_and_submodules("mtdnn_allennlp")

ROOT = Path(__file__).resolve().parents[2]
TINY_BERT = str(ROOT / "fixtures" / "tiny_bert")


def nsp_reader(labels: Any = ("not_next", "is_next"), **options: Any) -> NextSentenceReader:
    task = TaskDefinition.from_params(
        Params(
            {
                "name": "nsp",
                "task_type": "classification",
                "data_format": "premise_and_one_hypothesis",
                "labels": list(labels),
                "reader": {"type": "next_sentence_text", **options},
            }
        )
    )
    reader = DatasetReader.from_params(Params(dict(task.reader)), task=task, encoder=TINY_BERT)
    assert isinstance(reader, NextSentenceReader)
    return reader


def write_documents(tmp_path: Path, documents: List[List[str]]) -> Path:
    path = tmp_path / "documents.txt"
    path.write_text("\n\n".join("\n".join(document) for document in documents) + "\n")
    return path


# 30 documents of 5 sentences: "d<document> s<sentence>"; 4 pairs each, 120 examples.
DOCUMENTS = [[f"d{d} s{s}" for s in range(5)] for d in range(30)]


def pairs(reader: NextSentenceReader, path: Path):
    return [
        (each.fields["premise"], each.fields["hypothesis"], each.fields["label"], each.line)
        for each in reader.raw_examples(path)
    ]


def test_pairs_follow_documents_and_negatives_come_from_other_documents(tmp_path):
    path = write_documents(tmp_path, DOCUMENTS)
    found = pairs(nsp_reader(), path)
    assert len(found) == 30 * 4  # every sentence but each document's last
    for first, second, label, line in found:
        document, sentence = (int(part[1:]) for part in first.split())
        assert line == document * 6 + sentence + 1  # 5 sentences and a blank line each
        if label == "is_next":
            assert second == f"d{document} s{sentence + 1}"
        else:
            assert label == "not_next" and not second.startswith(f"d{document} ")
    negatives = sum(label == "not_next" for _, _, label, _ in found)
    # 120 draws at 0.5: 40 to 80 holds with probability > 0.9999.
    assert 40 <= negatives <= 80


def test_the_same_pairs_on_every_read_and_the_seed_changes_them(tmp_path):
    path = write_documents(tmp_path, DOCUMENTS)
    assert pairs(nsp_reader(), path) == pairs(nsp_reader(), path)
    assert pairs(nsp_reader(), path) != pairs(nsp_reader(pairing_seed=1), path)


def test_negative_fraction_sets_the_share_of_random_pairs(tmp_path):
    path = write_documents(tmp_path, DOCUMENTS)
    labels = [label for _, _, label, _ in pairs(nsp_reader(negative_fraction=0.1), path)]
    assert labels.count("not_next") <= 30  # expected 12 of 120


def test_instances_carry_the_pair_and_its_label(tmp_path):
    path = write_documents(tmp_path, [["A cat sat.", "It purred."], ["Rain fell.", "Roads shone."]])
    reader = nsp_reader()
    instances = list(reader.read(str(path)))
    assert len(instances) == 2
    documents = [("A cat sat.", "It purred."), ("Rain fell.", "Roads shone.")]
    for instance, document, other in zip(instances, documents, documents[::-1], strict=True):
        metadata = instance["metadata"].metadata
        label = reader.task.labels[instance["label"].label]
        assert metadata["premise"] == document[0]
        if label == "is_next":
            assert metadata["hypothesis"] == document[1]
        else:
            assert label == "not_next" and metadata["hypothesis"] in other


def test_one_document_is_a_data_error(tmp_path):
    path = write_documents(tmp_path, [["One.", "Two.", "Three."]])
    with pytest.raises(DataError, match="1 document") as raised:
        list(nsp_reader().read(str(path)))
    assert raised.value.file == str(path) and "blank lines" in raised.value.fix


@pytest.mark.parametrize(
    "labels, options, message",
    [
        (("no", "yes"), {}, "labels \\['not_next', 'is_next'\\]"),
        (("not_next", "is_next"), {"negative_fraction": 0.0}, "negative_fraction"),
        (("not_next", "is_next"), {"negative_fraction": 1.0}, "negative_fraction"),
    ],
)
def test_bad_setups_are_configuration_errors(labels, options, message):
    with pytest.raises(ConfigurationError, match=message):
        nsp_reader(labels, **options)
