"""Our SQuAD metrics on the published examples of the official evaluation scripts.

The examples and their expected outputs are those of the HuggingFace `squad` and `squad_v2`
metric cards, which wrap the official v1.1 and v2.0 scripts (outputs there are percentages; ours
are fractions). The no-answer cases follow the v2.0 script's definitions:
- a question whose gold answers all normalise to nothing is unanswerable, and its only gold
  answer is the empty string; gold answers that normalise to nothing are dropped before scoring;
- exact match compares normalised texts, so "" against "" scores 1;
- F1 where either side has no tokens is 1 if both have none, else 0.
Predictions enter the metric as the model gives them: (question id, span score, span text,
no-answer score or None) per context window.
"""

from typing import Dict, List, Optional

import pytest

from mtdnn_allennlp.metrics import TaskMetrics, normalize_answer

# The three questions of the metric cards' examples: id -> gold answers.
CARD_GOLD = {
    "56e10a3be3433e1400422b22": ["1976"],
    "56d2051ce7d4791d0090260b": ["Beyoncé and Bruno Mars"],
    "5733b5344776f419006610e1": ["climate change"],
}


def score(
    predictions: Dict[str, str],
    gold: Dict[str, List[str]],
    no_answer: Optional[Dict[str, bool]] = None,
) -> Dict[str, float]:
    """EM and F1 from TaskMetrics, as a percentage like the official scripts print them. With
    `no_answer`, each question is a v2.0 window whose no-answer score beats (True) or loses to
    (False) the span; without it, a v1.1 window with no no-answer score."""
    metrics = TaskMetrics(["squad_em", "squad_f1"], n_class=1)
    for qid, text in predictions.items():
        null_score = None if no_answer is None else (2.0 if no_answer[qid] else 0.0)
        metrics.add([(qid, 1.0, text, null_score)], [(qid, gold[qid])])
    values = metrics.compute()
    return {"exact_match": 100 * values["squad_em"], "f1": 100 * values["squad_f1"]}


def breakdown(predictions, gold, no_answer) -> Dict[str, float]:
    """The v2.0 script's HasAns/NoAns keys, from TaskMetrics (percentages, counts)."""
    metrics = TaskMetrics(["squad_em", "squad_f1"], n_class=1)
    for qid, text in predictions.items():
        metrics.add([(qid, 1.0, text, 2.0 if no_answer[qid] else 0.0)], [(qid, gold[qid])])
    values = metrics.compute()
    names = {"em": "exact", "f1": "f1", "total": "total"}
    found = {}
    for part, official in (("has_ans", "HasAns"), ("no_ans", "NoAns")):
        for ours, theirs in names.items():
            key = f"squad_{part}_{ours}"
            if key in values:
                scale = 1 if ours == "total" else 100
                found[f"{official}_{theirs}"] = scale * values[key]
    return found


# --- the `squad` (v1.1) metric card --------------------------------------------------------------


@pytest.mark.parametrize(
    "predictions, expected",
    [
        # "Maximal values for both exact match and F1 (perfect match)"
        ({"56e10a3be3433e1400422b22": "1976"}, {"exact_match": 100.0, "f1": 100.0}),
        # "Minimal values for both exact match and F1 (no match)"
        ({"56e10a3be3433e1400422b22": "1999"}, {"exact_match": 0.0, "f1": 0.0}),
        # "Partial match (2 out of 3 answers correct)": "Beyonce" shares no token with
        # "beyoncé and bruno mars" (normalisation keeps the accent).
        (
            {
                "56e10a3be3433e1400422b22": "1976",
                "56d2051ce7d4791d0090260b": "Beyonce",
                "5733b5344776f419006610e1": "climate change",
            },
            {"exact_match": 66.66666666666667, "f1": 66.66666666666667},
        ),
    ],
)
def test_squad_v1_metric_card_examples(predictions, expected):
    assert score(predictions, CARD_GOLD) == pytest.approx(expected)


# --- the `squad_v2` metric card (no_answer_probability 0: the span is kept) --------------------


@pytest.mark.parametrize(
    "predictions, exact, f1",
    [
        ({"56e10a3be3433e1400422b22": "1976"}, 100.0, 100.0),
        ({"56e10a3be3433e1400422b22": "1999"}, 0.0, 0.0),
        (
            {
                "56e10a3be3433e1400422b22": "1976",
                "56d2051ce7d4791d0090260b": "Beyonce",
                "5733b5344776f419006610e1": "climate change",
            },
            66.66666666666667,
            66.66666666666667,
        ),
    ],
)
def test_squad_v2_metric_card_examples(predictions, exact, f1):
    kept = {qid: False for qid in predictions}
    assert score(predictions, CARD_GOLD, no_answer=kept) == pytest.approx(
        {"exact_match": exact, "f1": f1}
    )
    # Every card question has an answer: the v2.0 script reports HasAns (equal to the total)
    # and no NoAns part.
    assert breakdown(predictions, CARD_GOLD, kept) == pytest.approx(
        {"HasAns_exact": exact, "HasAns_f1": f1, "HasAns_total": len(predictions)}
    )


# --- v2.0 no-answer cases, by the v2.0 script's definitions ---------------------------------------


@pytest.mark.parametrize(
    "gold, no_answer, span, exact, f1",
    [
        # unanswerable, and the model abstains: "" against "" scores 1 for both
        ([], True, "1976", 100.0, 100.0),
        # unanswerable, but the model answers
        ([], False, "1976", 0.0, 0.0),
        # answerable, but the model abstains
        (["1976"], True, "1976", 0.0, 0.0),
        # answerable, and answered
        (["1976"], False, "the 1976.", 100.0, 100.0),
        # gold answers that normalise to nothing are dropped: "The" does not make an abstention
        # right when "1976" is a real answer
        (["The", "1976"], True, "1976", 0.0, 0.0),
        (["The", "1976"], False, "1976", 100.0, 100.0),
        # only such answers: the question counts as unanswerable
        (["the", "."], True, "1976", 100.0, 100.0),
        (["the", "."], False, "1976", 0.0, 0.0),
        # an answer that itself normalises to nothing is the same as abstaining
        (["the", "."], False, "a", 100.0, 100.0),
    ],
)
def test_squad_v2_no_answer_cases(gold, no_answer, span, exact, f1):
    result = score({"q": span}, {"q": gold}, no_answer={"q": no_answer})
    assert result == pytest.approx({"exact_match": exact, "f1": f1})


def test_squad_v2_corpus_mixes_answerable_and_unanswerable_questions():
    # Four questions: one right, one half right (F1 2/3: "Denver" vs "Denver Broncos"), one
    # unanswerable abstained on, one unanswerable answered. EM (1+0+1+0)/4, F1 (1+2/3+1+0)/4.
    gold = {"a": ["1976"], "b": ["Denver Broncos"], "c": [], "d": []}
    spans = {"a": "1976", "b": "Denver", "c": "Paris", "d": "Paris"}
    no_answer = {"a": False, "b": False, "c": True, "d": False}
    result = score(spans, gold, no_answer=no_answer)
    assert result == pytest.approx({"exact_match": 50.0, "f1": 100 * (2 + 2 / 3) / 4})
    # The v2.0 script's breakdown: HasAns over a and b, NoAns over c and d.
    assert breakdown(spans, gold, no_answer) == pytest.approx(
        {
            "HasAns_exact": 50.0,
            "HasAns_f1": 100 * (1 + 2 / 3) / 2,
            "HasAns_total": 2,
            "NoAns_exact": 50.0,
            "NoAns_f1": 50.0,
            "NoAns_total": 2,
        }
    )


def test_a_v1_model_gets_no_breakdown():
    metrics = TaskMetrics(["squad_em", "squad_f1"], n_class=1)
    metrics.add([("q", 1.0, "1976", None)], [("q", ["1976"])])
    assert set(metrics.compute()) == {"squad_em", "squad_f1"}


def test_the_breakdown_does_not_count_in_the_task_average():
    from mtdnn_allennlp.models.multitask_model import MultiTaskModel

    metrics = TaskMetrics(["squad_em", "squad_f1"], n_class=1)
    metrics.add([("a", 1.0, "1976", 0.0), ("c", 1.0, "x", 2.0)], [("a", ["1976"]), ("c", [])])
    model = MultiTaskModel.__new__(MultiTaskModel)
    model.metrics, model.training_monitors = {"squad_v2": metrics}, {}
    values = model.get_metrics(reset=True)
    assert values["squad_v2_squad_has_ans_em"] == 1.0 and values["squad_v2_squad_no_ans_em"] == 1.0
    assert values["average"] == pytest.approx(
        (values["squad_v2_squad_em"] + values["squad_v2_squad_f1"]) / 2
    )


@pytest.mark.parametrize(
    "text, normalised",
    [
        ("Beyoncé and Bruno Mars", "beyoncé and bruno mars"),  # only ASCII punctuation goes
        ("1976–1977", "1976–1977"),  # an en dash is not in string.punctuation
        ("(the) U.S.", "us"),
        ("anthem", "anthem"),  # articles only as whole words
    ],
)
def test_normalisation_only_removes_ascii_punctuation_and_whole_articles(text, normalised):
    assert normalize_answer(text) == normalised
