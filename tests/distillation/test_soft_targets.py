"""Soft targets: the KD loss against a hand computation, teacher records, ensembles, checks."""

import json
import math

import pytest
import torch
from allennlp.data import Batch

from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.distillation.soft_targets import (
    MIN_PROBABILITY,
    average_records,
    check_record,
    read_records,
    records_from_logits,
    target_tensor,
)
from mtdnn_allennlp.losses import (
    MASKED_SCORE,
    KLDivergenceLoss,
    MeanSquaredErrorLoss,
    SpanKLDivergenceLoss,
)
from tests.support.tiny_models import ENCODERS, TRAIN, model, reader, task


def _softmax(values):
    exps = [math.exp(v) for v in values]
    return [e / sum(exps) for e in exps]


def test_kl_with_temperature_against_probabilities_matches_a_hand_computation():
    student = [[1.0, -1.0, 0.5], [0.0, 2.0, -0.5]]
    teacher_probabilities = [[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]]
    t = 2.0
    # By hand: q = softmax(log(p) / T) = p^(1/T) renormalised; s = softmax(student / T);
    # loss = T^2 * mean over examples of sum_c q_c * (log q_c - log s_c).
    expected = 0.0
    for logits, probabilities in zip(student, teacher_probabilities, strict=True):
        roots = [p ** (1 / t) for p in probabilities]
        q = [r / sum(roots) for r in roots]
        s = _softmax([v / t for v in logits])
        expected += sum(qc * (math.log(qc) - math.log(sc)) for qc, sc in zip(q, s, strict=True))
    expected = t * t * expected / len(student)
    target = torch.tensor(teacher_probabilities).log()
    loss = KLDivergenceLoss(temperature=t)(torch.tensor(student), target)
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_model_loss_is_the_weighted_sum_of_hard_and_soft_losses():
    torch.manual_seed(0)
    mtdnn = model(["rte"], ENCODERS["bilstm"], hard_loss_weight=0.3, soft_loss_weight=0.7).eval()
    instances = list(reader(["rte"], max_instances_per_task=3).read_task("rte", TRAIN["rte"]))
    batch = Batch(instances)
    batch.index_instances(mtdnn.vocab)
    tensors = batch.as_tensor_dict()
    probabilities = [[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]]
    soft = torch.tensor(probabilities).log()
    output = mtdnn(**tensors, soft_target=soft)
    logits = output["logits"].detach()
    labels = tensors["label"].tolist()
    hard = (
        -sum(
            math.log(_softmax(row)[label])
            for row, label in zip(logits.tolist(), labels, strict=True)
        )
        / 3
    )
    kd = (
        sum(
            sum(q * (math.log(q) - math.log(s)) for q, s in zip(p, _softmax(row), strict=True))
            for p, row in zip(probabilities, logits.tolist(), strict=True)
        )
        / 3
    )
    assert output["loss"].item() == pytest.approx(0.3 * hard + 0.7 * kd, rel=1e-4)
    # The soft loss is reported with the metrics (as `<task>_kd_loss`), until a reset.
    assert mtdnn.get_metrics(reset=True)["rte_kd_loss"] == pytest.approx(kd, rel=1e-4)
    # Without soft targets the loss is the hard loss alone, and no soft loss is reported.
    assert mtdnn(**tensors)["loss"].item() == pytest.approx(hard, rel=1e-4)
    assert "rte_kd_loss" not in mtdnn.get_metrics(reset=True)


def test_mse_kd_loss_on_scores():
    loss = MeanSquaredErrorLoss()(torch.tensor([1.0, 2.0]), torch.tensor([0.0, 4.0]))
    assert loss.item() == pytest.approx((1 + 4) / 2)


def test_records_hold_probabilities_scores_and_per_word_distributions():
    rte, stsb, ner = task("rte"), task("stsb"), task("conll2003")
    [rte_record] = records_from_logits(rte, torch.tensor([[2.0, 0.0]]), [{"id": 5}])
    assert rte_record["id"] == "5"
    assert rte_record["probabilities"] == pytest.approx(_softmax([2.0, 0.0]))
    [stsb_record] = records_from_logits(stsb, torch.tensor([3.5]), [{"id": "a"}])
    assert stsb_record == {"task": "stsb", "id": "a", "score": 3.5}
    logits = torch.randn(1, 6, ner.n_class)
    [ner_record] = records_from_logits(ner, logits, [{"id": 1, "word_starts": [1, 3, -1]}])
    per_word = ner_record["probabilities"]
    assert per_word[0] == pytest.approx(logits[0, 1].softmax(-1).tolist())
    assert per_word[1] == pytest.approx(logits[0, 3].softmax(-1).tolist())
    assert per_word[2] is None  # truncated word


def test_ensemble_averages_probabilities_scores_and_tag_distributions():
    one = {
        ("rte", "1"): {"task": "rte", "id": "1", "probabilities": [0.9, 0.1]},
        ("stsb", "1"): {"task": "stsb", "id": "1", "score": 4.0},
        ("ner", "1"): {"task": "ner", "id": "1", "probabilities": [[1.0, 0.0], None, [0.5, 0.5]]},
    }
    two = {
        ("rte", "1"): {"task": "rte", "id": "1", "probabilities": [0.5, 0.5]},
        ("stsb", "1"): {"task": "stsb", "id": "1", "score": 2.0},
        ("ner", "1"): {"task": "ner", "id": "1", "probabilities": [[0.0, 1.0], [0.2, 0.8], None]},
    }
    averaged = average_records([one, two], ["a", "b"])
    assert averaged[("rte", "1")]["probabilities"] == pytest.approx([0.7, 0.3])
    assert averaged[("stsb", "1")]["score"] == pytest.approx(3.0)
    tags = averaged[("ner", "1")]["probabilities"]
    assert tags[0] == pytest.approx([0.5, 0.5])
    assert tags[1] == pytest.approx([0.2, 0.8])  # only one teacher reached the word
    assert tags[2] == pytest.approx([0.5, 0.5])


def test_ensemble_of_teachers_with_different_examples_names_the_id():
    one = {("rte", "1"): {"task": "rte", "id": "1", "probabilities": [0.9, 0.1]}}
    two = {("rte", "2"): {"task": "rte", "id": "2", "probabilities": [0.9, 0.1]}}
    with pytest.raises(DataError, match="teacher b.tar.gz has no output for example id '1'"):
        average_records([one, two], ["a.tar.gz", "b.tar.gz"])


@pytest.mark.parametrize(
    "record, message",
    [
        ({"probabilities": [0.2, 0.3, 0.5]}, "example id '7': 3 probabilities where task 'rte'"),
        ({"probabilities": [float("nan"), 1.0]}, "example id '7': probability nan"),
        ({"score": 1.0}, "example id '7': no probabilities list"),
    ],
)
def test_bad_records_name_the_id_and_the_file(record, message):
    with pytest.raises(DataError, match=message) as error:
        check_record(task("rte"), {"task": "rte", "id": "7", "_line": 3, **record}, "soft.jsonl")
    assert "soft.jsonl:3" in str(error.value)


def test_nan_score_is_rejected():
    with pytest.raises(DataError, match="example id '2': score is nan"):
        check_record(task("stsb"), {"task": "stsb", "id": "2", "score": float("nan")}, "f")


def test_reading_a_file_rejects_duplicates_and_bad_json(tmp_path):
    path = tmp_path / "soft.jsonl"
    row = {"task": "rte", "id": 1, "probabilities": [0.5, 0.5]}
    path.write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(DataError, match="soft.jsonl:2.*example id '1' appears twice"):
        read_records(str(path))
    path.write_text("{not json\n")
    with pytest.raises(DataError, match="soft.jsonl:1.*not a JSON object"):
        read_records(str(path))


def test_tag_targets_sit_on_word_starts():
    ner = task("conll2003")
    record = {"id": "1", "probabilities": [[1.0] + [0.0] * (ner.n_class - 1), None]}
    target, mask = target_tensor(ner, record, {"word_starts": [1, 2]}, 4, "f")
    assert mask.tolist() == [False, True, False, False]
    assert target[1, 0].item() == pytest.approx(0.0)  # log(1)
    assert target.shape == (4, ner.n_class)


def test_ranking_records_cover_each_examples_own_candidates():
    qnli = task("qnli_ranking")
    logits = torch.tensor([[1.0, 0.0, MASKED_SCORE], [0.5, -0.5, 2.0]])
    present = torch.tensor([[True, True, False], [True, True, True]])
    first, second = records_from_logits(qnli, logits, [{"id": 1}, {"id": 2}], present)
    assert first["probabilities"] == pytest.approx(_softmax([1.0, 0.0]))
    assert second["probabilities"] == pytest.approx(_softmax([0.5, -0.5, 2.0]))
    target, mask = target_tensor(qnli, first, {}, 2, "f")
    assert mask is None and target.exp().tolist() == pytest.approx(first["probabilities"])
    with pytest.raises(DataError, match="f.*example id '1': 2 probabilities values for 3"):
        target_tensor(qnli, first, {}, 3, "f")


def test_ranking_kd_loss_gives_padding_candidates_no_weight():
    # Padded as a batch pads them: the student's head and the target both carry MASKED_SCORE.
    student = torch.tensor([[0.3, -0.2, MASKED_SCORE]])
    teacher = torch.tensor([[math.log(0.8), math.log(0.2), MASKED_SCORE]])
    q, s = [0.8, 0.2], _softmax([0.3, -0.2])
    expected = sum(qc * (math.log(qc) - math.log(sc)) for qc, sc in zip(q, s, strict=True))
    assert KLDivergenceLoss()(student, teacher).item() == pytest.approx(expected, rel=1e-5)


# A context of 3 words, "Ab cd ef", in a window [CLS] q [SEP] A ##b cd [SEP] (the second window
# of the same question would hold "cd ef").
CONTEXT = "Ab cd ef"
WINDOW = {
    "id": "q",
    "context": CONTEXT,
    "offsets": [None, None, None, (0, 1), (1, 2), (3, 5), None],
}


def test_a_span_window_record_sums_each_words_pieces():
    squad = task("squad_v1")
    logits = torch.full((1, 7, 2), MASKED_SCORE)
    logits[0, [0, 3, 4, 5], 0] = torch.tensor([0.0, 1.0, 0.5, -1.0])
    logits[0, [0, 3, 4, 5], 1] = torch.tensor([-1.0, 0.0, 2.0, 1.0])
    [record] = records_from_logits(squad, logits, [WINDOW])
    start = _softmax([0.0, 1.0, 0.5, -1.0])
    end = _softmax([-1.0, 0.0, 2.0, 1.0])
    assert record["start"] == pytest.approx([start[1] + start[2], start[3], None])
    assert record["end"] == pytest.approx([end[1] + end[2], end[3], None])
    assert record["no_answer"] == pytest.approx([start[0], end[0]])


def test_span_windows_and_teachers_average_per_word():
    one = {"task": "squad_v1", "id": "q", "start": [0.6, 0.3, None], "end": [0.2, 0.7, None]}
    two = {"task": "squad_v1", "id": "q", "start": [None, 0.1, 0.8], "end": [None, 0.5, 0.4]}
    one["no_answer"], two["no_answer"] = [0.1, 0.1], [0.1, 0.1]
    averaged = average_records([{("squad_v1", "q"): one}, {("squad_v1", "q"): two}], ["a", "b"])
    record = averaged[("squad_v1", "q")]
    assert record["start"] == pytest.approx([0.6, 0.2, 0.8])
    assert record["end"] == pytest.approx([0.2, 0.6, 0.4])
    assert record["no_answer"] == pytest.approx([0.1, 0.1])


def test_span_targets_sit_on_first_and_last_pieces_and_the_kd_loss_matches_by_hand():
    squad = task("squad_v1")
    record = {"id": "q", "start": [0.5, 0.2, 0.2], "end": [0.1, 0.6, 0.2], "no_answer": [0.1, 0.1]}
    target, mask = target_tensor(squad, record, WINDOW, 7, "f")
    assert mask is None
    # "Ab" is pieces 3-4: its start at 3, its end at 4; "cd" is piece 5; "ef" is not in the window.
    kept_start = {0: 0.1, 3: 0.5, 5: 0.2}
    kept_end = {0: 0.1, 4: 0.1, 5: 0.6}
    for column, kept in ((0, kept_start), (1, kept_end)):
        for position in range(7):
            value = math.log(kept[position]) if position in kept else MASKED_SCORE
            assert target[position, column].item() == pytest.approx(value, rel=1e-5)
    # By hand: per column, q = the kept probabilities renormalised over the window; the student
    # s = softmax over its allowed positions (context pieces and [CLS]); the loss is the mean of
    # the two KL(q || s).
    allowed = [0, 3, 4, 5]
    student = torch.full((1, 7, 2), MASKED_SCORE)
    student[0, allowed, 0] = torch.tensor([0.2, 0.1, -0.3, 0.4])
    student[0, allowed, 1] = torch.tensor([-0.2, 0.3, 0.0, 0.5])
    expected = 0.0
    for column, kept in ((0, kept_start), (1, kept_end)):
        s = dict(zip(allowed, _softmax(student[0, allowed, column].tolist()), strict=True))
        total = sum(kept.values())
        expected += sum(p / total * math.log(p / total / s[i]) for i, p in kept.items()) / 2
    loss = SpanKLDivergenceLoss()(student, target.unsqueeze(0))
    assert loss.item() == pytest.approx(expected, rel=1e-4)


def test_span_target_for_another_context_names_the_id():
    record = {"id": "q", "start": [0.5, 0.5], "end": [0.5, 0.5], "no_answer": [0.0, 0.0]}
    with pytest.raises(DataError, match="example id 'q': 2 start values for 3 context words"):
        target_tensor(task("squad_v1"), record, WINDOW, 7, "f")
    # A word the teacher gave no probability still gets a finite target.
    record = {"id": "q", "start": [0.0, 1.0, 0.0], "end": [0.0, 1.0, 0.0], "no_answer": [0, 0]}
    target, _ = target_tensor(task("squad_v1"), record, WINDOW, 7, "f")
    assert target[3, 0].item() == pytest.approx(math.log(MIN_PROBABILITY))


@pytest.mark.parametrize(
    "record, message",
    [
        ({"start": [0.5], "no_answer": [0, 0]}, "example id '7': no end list"),
        ({"start": [0.5], "end": [0.5, 0.5], "no_answer": [0, 0]}, "1 start but 2 end"),
        ({"start": [float("nan")], "end": [0.5], "no_answer": [0, 0]}, "probability nan"),
        ({"start": [0.5], "end": [0.5], "no_answer": 0.1}, "no_answer is 0.1"),
    ],
)
def test_bad_span_records_name_the_id_and_the_field(record, message):
    with pytest.raises(DataError, match=message):
        check_record(task("squad_v1"), {"task": "squad_v1", "id": "7", **record}, "soft.jsonl")
