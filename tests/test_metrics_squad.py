"""SQuAD exact match and F1, by the official evaluation script's definitions.

The official v1.1/v2.0 scripts normalise both texts (lower case; punctuation removed; the
articles a, an, the removed; whitespace collapsed), take EM as equality of the normalised texts
and F1 over their whitespace tokens (with multiplicity), and score a question by its best gold
answer. v2.0 scores an empty side 1 only if both are empty. The expected values below are worked
out by hand from those definitions.
"""

import pytest

from mtdnn_allennlp.metrics import (
    METRICS,
    TaskMetrics,
    normalize_answer,
    squad_answers,
    squad_exact_match,
    squad_f1,
)


@pytest.mark.parametrize(
    "text, normalised",
    [
        ("The Denver Broncos", "denver broncos"),
        ("  Saint-Denis, France. ", "saintdenis france"),
        ("an apple and a pear", "apple and pear"),
        ("Theatre", "theatre"),  # "the" only as a whole word
        ("THE\tend\n", "end"),
        ("A.D. 1066", "ad 1066"),
        ("the", ""),
    ],
)
def test_normalisation_follows_the_official_script(text, normalised):
    assert normalize_answer(text) == normalised


@pytest.mark.parametrize(
    "prediction, gold, em, f1",
    [
        ("the Denver Broncos", "Denver Broncos", 1.0, 1.0),
        ("Denver", "Denver Broncos", 0.0, 2 / 3),  # precision 1, recall 1/2
        ("Denver Broncos won", "the Denver Broncos", 0.0, 0.8),  # P 2/3, R 1
        ("Carolina Panthers", "Denver Broncos", 0.0, 0.0),
        ("a a b", "a b b", 0.0, 2 / 3),  # articles vanish: "b" against "b b": P 1, R 1/2
        ("x x y", "x y y", 0.0, 2 / 3),  # common tokens counted with multiplicity
        ("", "", 1.0, 1.0),  # v2.0: no answer predicted for an unanswerable question
        ("", "Denver", 0.0, 0.0),
        ("Denver", "", 0.0, 0.0),
    ],
)
def test_exact_match_and_f1(prediction, gold, em, f1):
    assert squad_exact_match(prediction, gold) == em
    assert squad_f1(prediction, gold) == pytest.approx(f1)


def test_articles_only_answer_against_a_word():
    # normalises to nothing: the empty side scores 0 against a non-empty one
    assert squad_f1("the", "b") == 0.0


def test_a_question_is_answered_by_its_best_window_and_v2_may_answer_nothing():
    windows = [
        ("q1", 2.0, "Denver", None),
        ("q1", 5.0, "Denver Broncos", None),
        ("q2", 1.0, "Panthers", 3.0),  # no-answer scores 3 in one window, 0.5 in the other:
        ("q2", 0.8, "Carolina", 0.5),  # the lowest (0.5) is below the best span (1.0)
        ("q3", 1.0, "Levi's Stadium", 4.0),
        ("q3", -9.0, "Santa Clara", 2.0),  # the lowest no-answer score beats every span
    ]
    assert squad_answers(windows) == {"q1": "Denver Broncos", "q2": "Panthers", "q3": ""}


def test_task_metrics_score_each_question_once_by_its_best_gold_answer():
    metrics = TaskMetrics(["squad_em", "squad_f1"], n_class=1)
    # q1 has two windows (two rows of gold); q2 is unanswerable (no gold answers).
    metrics.add(
        [("q1", 1.0, "Denver", None), ("q1", 3.0, "Broncos of Denver", None)],
        [("q1", ["Denver Broncos", "Broncos"]), ("q1", ["Denver Broncos", "Broncos"])],
    )
    metrics.add([("q2", 0.0, "", 1.0)], [("q2", [])])
    values = metrics.compute()
    # q1 predicts "Broncos of Denver": EM 0; F1 vs "Denver Broncos" = 2*(2/3*1)/(5/3) = 0.8.
    assert values["squad_em"] == pytest.approx((0.0 + 1.0) / 2)
    assert values["squad_f1"] == pytest.approx((0.8 + 1.0) / 2)
    assert {"squad_em", "squad_f1"} <= set(METRICS)
