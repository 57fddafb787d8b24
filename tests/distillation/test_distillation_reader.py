"""The student's reader joins soft targets to examples by (task, id), strictly."""

import json
from pathlib import Path

import pytest
import torch
from allennlp.common.checks import ConfigurationError

from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.distillation.reader import DistillationReader
from mtdnn_allennlp.distillation.soft_targets import (
    average_span_records,
    records_from_logits,
    write_records,
)
from mtdnn_allennlp.losses import MASKED_SCORE
from tests.support.tiny_models import TINY_BERT, TRAIN, reader, task


def _teacher_file(tmp_path: Path, names, drop=None, add=None, n_class=None, **kwargs) -> Path:
    """Soft targets from random logits for every example the plain reader reads."""
    torch.manual_seed(0)
    records = {}
    plain = reader(names, **kwargs)
    for name in names:
        definition = task(name)
        for instance in plain.read_task(name, TRAIN[name]):
            meta = instance["metadata"].metadata
            width = n_class or definition.n_class
            if definition.data_format == "sequence":
                logits = torch.randn(1, len(instance["tokens"]), width)
            elif definition.task_type == "regression":
                logits = torch.randn(1)
            elif definition.task_type in ("ranking", "span_extraction"):
                # Candidates, or word pieces with a start and an end logit each.
                shape = (1, len(instance["tokens"])) + ((2,) if "answer_mask" in instance else ())
                logits = torch.randn(shape)
            else:
                logits = torch.randn(1, width)
            [record] = records_from_logits(definition, logits, [meta])
            key = (name, record["id"])
            if definition.task_type == "span_extraction" and key in records:  # another window
                record = average_span_records([records[key], record])
            records[key] = record
    if drop is not None:
        del records[drop]
    if add is not None:
        records[(add["task"], add["id"])] = add
    path = tmp_path / "soft.jsonl"
    write_records(records, str(path))
    return path


def _student_reader(names, soft, **kwargs) -> DistillationReader:
    return DistillationReader(
        [task(name) for name in names], soft_targets=str(soft), encoder=TINY_BERT, **kwargs
    )


def test_every_instance_gets_its_soft_target(tmp_path):
    names = ["rte", "stsb", "conll2003"]
    soft = _teacher_file(tmp_path, names)
    expected = {
        (row["task"], row["id"]): row for row in map(json.loads, soft.read_text().splitlines())
    }
    student = _student_reader(names, soft)
    for name in names:
        instances = list(student.read_task(name, TRAIN[name]))
        assert instances
        for instance in instances:
            meta = instance["metadata"].metadata
            record = expected[(name, str(meta["id"]))]
            target = instance["soft_target"].tensor
            if name == "stsb":
                assert target.item() == pytest.approx(record["score"])
            elif name == "rte":
                assert target.exp().tolist() == pytest.approx(record["probabilities"], rel=1e-5)
            else:
                mask = instance["soft_target_mask"].tensor
                starts = [start for start in meta["word_starts"] if start >= 0]
                assert mask.nonzero().flatten().tolist() == starts
                first = target[starts[0]].exp().tolist()
                assert first == pytest.approx(record["probabilities"][0], rel=1e-5)


def test_a_missing_id_names_the_id_and_the_file(tmp_path):
    soft = _teacher_file(tmp_path, ["rte"], drop=("rte", "59"))
    with pytest.raises(DataError, match=r"soft.jsonl.*example id '59' of .*has no soft target"):
        list(_student_reader(["rte"], soft).read_task("rte", TRAIN["rte"]))


def test_an_extra_id_names_the_id_and_the_file(tmp_path):
    extra = {"task": "rte", "id": "no-such-example", "probabilities": [0.5, 0.5]}
    soft = _teacher_file(tmp_path, ["rte"], add=extra)
    with pytest.raises(DataError, match=r"soft.jsonl.*1 soft targets have no example.*"):
        list(_student_reader(["rte"], soft).read_task("rte", TRAIN["rte"]))
    # Reading part of a file on purpose (smoke runs, subsets) leaves soft targets unused.
    partial = _student_reader(["rte"], soft, max_instances_per_task=4)
    assert len(list(partial.read_task("rte", TRAIN["rte"]))) == 4


def test_wrong_class_count_names_the_id_and_the_file(tmp_path):
    soft = _teacher_file(tmp_path, ["rte"], n_class=3)
    with pytest.raises(DataError, match=r"soft.jsonl:1.*example id '.*': 3 probabilities"):
        list(_student_reader(["rte"], soft).read_task("rte", TRAIN["rte"]))


def test_nan_names_the_id_and_the_file(tmp_path):
    soft = _teacher_file(tmp_path, ["rte"])
    lines = soft.read_text().splitlines()
    first = json.loads(lines[0])
    first["probabilities"][0] = float("nan")
    soft.write_text("\n".join([json.dumps(first)] + lines[1:]) + "\n")
    with pytest.raises(DataError, match=rf"soft.jsonl:1.*example id '{first['id']}'.*nan"):
        list(_student_reader(["rte"], soft).read_task("rte", TRAIN["rte"]))


def test_soft_targets_for_unknown_tasks_are_configuration_errors(tmp_path):
    with pytest.raises(ConfigurationError, match="no file for tasks \\['stsb'\\]"):
        DistillationReader(
            [task("rte"), task("stsb")], soft_targets={"rte": "a"}, encoder=TINY_BERT
        )
    soft = _teacher_file(tmp_path, ["rte", "stsb"])
    with pytest.raises(DataError, match="soft targets for tasks \\['stsb'\\]"):
        list(_student_reader(["rte"], soft).read_task("rte", TRAIN["rte"]))


def test_ranking_and_span_instances_get_targets_shaped_like_their_outputs(tmp_path):
    names = ["qnli_ranking", "squad_v1"]
    soft = _teacher_file(tmp_path, names, max_length=384)  # SQuAD's window
    expected = {
        (row["task"], row["id"]): row for row in map(json.loads, soft.read_text().splitlines())
    }
    student = _student_reader(names, soft, max_length=384)
    ranking = list(student.read_task("qnli_ranking", TRAIN["qnli_ranking"]))
    assert ranking
    for instance in ranking:
        record = expected[("qnli_ranking", str(instance["metadata"].metadata["id"]))]
        target = instance["soft_target"].tensor
        assert target.shape == (len(instance["tokens"]),)
        assert target.exp().tolist() == pytest.approx(record["probabilities"], rel=1e-5)
        # Padded to a longer example's candidates, the target gives padding no probability.
        assert instance["soft_target"].padding_value == MASKED_SCORE
    windows = list(student.read_task("squad_v1", TRAIN["squad_v1"]))
    assert windows
    for instance in windows:
        record = expected[("squad_v1", str(instance["metadata"].metadata["id"]))]
        target = instance["soft_target"].tensor
        assert target.shape == (len(instance["tokens"]), 2)
        assert target[0].exp().tolist() == pytest.approx(record["no_answer"], rel=1e-5)
        kept = target[:, 0] > MASKED_SCORE / 2
        allowed = instance["answer_mask"].tensor
        assert bool((allowed | ~kept).all())  # targets only where an answer may start
        assert int(kept.sum()) > 1


def test_masked_lm_has_no_soft_targets_and_is_refused_when_the_reader_is_built():
    with pytest.raises(ConfigurationError, match="task 'mlm' is of type 'masked_lm'.*no soft"):
        DistillationReader([task("mlm")], soft_targets="soft.jsonl", encoder=TINY_BERT)
