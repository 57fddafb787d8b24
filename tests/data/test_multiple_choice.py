"""Multiple choice and cloze (data format `multiple_choice`): the pairs each choice is encoded
as, labels by index or text, the errors bad rows give, and the model and predictor on top.

Expected pairs are written out from the test's own strings and encoded with the tokenizer
directly, never taken from the reader under test.
"""

import json
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.common.util import import_module_and_submodules
from allennlp.data import Batch, DatasetReader, Vocabulary
from transformers import AutoTokenizer

from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.data.dataset_readers import MultiTaskReader, TaskReader
from mtdnn_allennlp.losses import MASKED_SCORE
from mtdnn_allennlp.models.multitask_model import MultiTaskModel
from mtdnn_allennlp.modules.shared_encoder import SharedEncoder
from mtdnn_allennlp.predictors.multitask_predictor import MultiTaskPredictor
from mtdnn_allennlp.tasks import TaskDefinition

import_module_and_submodules("mtdnn_allennlp")

ROOT = Path(__file__).resolve().parents[2]
TINY_BERT = str(ROOT / "fixtures" / "tiny_bert")
FIXTURE = ROOT / "fixtures" / "data" / "multiple_choice"


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(TINY_BERT)


def mc_task(name: str = "mc", **reader: Any) -> TaskDefinition:
    return TaskDefinition.from_params(
        Params(
            {
                "name": name,
                "task_type": "ranking",
                "data_format": "multiple_choice",
                "reader": {"type": "jsonl", **reader},
            }
        )
    )


def reader_for(task: TaskDefinition, **options: Any) -> TaskReader:
    reader = DatasetReader.from_params(
        Params(dict(task.reader)), task=task, encoder=TINY_BERT, **options
    )
    assert isinstance(reader, TaskReader)
    return reader


def write_lines(tmp_path: Path, records: List[Any], name: str = "data.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def pair_ids(instance, position: int) -> List[int]:
    return instance["tokens"].field_list[position].ids.tolist()


def expected_ids(tokenizer, first: str, second: Optional[str]) -> List[int]:
    return tokenizer(first, second)["input_ids"]


# --- what each choice is encoded as -------------------------------------------------------------


@pytest.mark.parametrize(
    "record, pairs",
    [
        (  # SWAG style: the context, then the question's start with each ending
            {"context": "The ice melted.", "question": "So the floor",
             "choices": ["got wet", "sang"]},
            [("The ice melted.", "So the floor got wet"), ("The ice melted.", "So the floor sang")],
        ),
        (  # ARC style: a question and its answers, no context
            {"question": "Which is a fruit?", "choices": ["apple", "brick", "chair"]},
            [("Which is a fruit?", "apple"), ("Which is a fruit?", "brick"),
             ("Which is a fruit?", "chair")],
        ),
        (  # a context alone, e.g. a story and its possible endings
            {"context": "He missed the bus.", "choices": ["He walked.", "He flew."]},
            [("He missed the bus.", "He walked."), ("He missed the bus.", "He flew.")],
        ),
    ],
)  # fmt: skip
def test_each_choice_is_paired_with_the_context_and_question(tokenizer, tmp_path, record, pairs):
    reader = reader_for(mc_task())
    (instance,) = reader.read(str(write_lines(tmp_path, [{**record, "label": 0}])))
    assert len(instance["tokens"].field_list) == len(pairs)
    for position, (first, second) in enumerate(pairs):
        assert pair_ids(instance, position) == expected_ids(tokenizer, first, second)
    metadata = instance["metadata"].metadata
    assert metadata["choices"] == record["choices"] and metadata["label"] == 0


@pytest.mark.parametrize(
    "record, pairs",
    [
        (  # the blank in the question; no context: the filled sentence alone
            {"question": "She drank a _ of milk.", "choices": ["glass", "shoe"]},
            [("She drank a glass of milk.", None), ("She drank a shoe of milk.", None)],
        ),
        (  # the blank in the question, with a context before it
            {"context": "It was cold.", "question": "He wore a _.", "choices": ["coat", "bikini"]},
            [("It was cold.", "He wore a coat."), ("It was cold.", "He wore a bikini.")],
        ),
        (  # the blank in the context; the question follows
            {"context": "The _ barked.", "question": "Who made a sound?",
             "choices": ["dog", "rock"]},
            [("The dog barked.", "Who made a sound?"), ("The rock barked.", "Who made a sound?")],
        ),
    ],
)  # fmt: skip
def test_cloze_puts_each_choice_in_the_blank(tokenizer, tmp_path, record, pairs):
    reader = reader_for(mc_task(blank="_"))
    (instance,) = reader.read(str(write_lines(tmp_path, [{**record, "label": 1}])))
    for position, (first, second) in enumerate(pairs):
        assert pair_ids(instance, position) == expected_ids(tokenizer, first, second)
    assert instance["label"].label == 1


def test_labels_by_index_or_text_and_choice_counts_vary():
    reader = reader_for(mc_task())
    instances = list(reader.read(str(FIXTURE / "train.jsonl")))
    records = [json.loads(line) for line in (FIXTURE / "train.jsonl").read_text().splitlines()]
    assert len(instances) == len(records) == 20
    for instance, record in zip(instances, records, strict=True):
        label = record["label"]
        right = label if isinstance(label, int) else record["choices"].index(label)
        assert instance["label"].label == right
        assert len(instance["tokens"].field_list) == len(record["choices"])
    assert len({len(record["choices"]) for record in records}) >= 3  # 2 to 5 choices
    assert any(isinstance(r["label"], str) for r in records)


def test_field_map_renames_keys_of_other_layouts(tokenizer, tmp_path):
    task = mc_task(field_map={"sent1": "context", "sent2": "question", "endings": "choices"})
    record = {"sent1": "He sat down.", "sent2": "Then he", "endings": ["rested.", "flew."]}
    (instance,) = reader_for(task).read(str(write_lines(tmp_path, [{**record, "label": 1}])))
    assert pair_ids(instance, 1) == expected_ids(tokenizer, "He sat down.", "Then he flew.")
    assert instance["label"].label == 1


# --- bad rows ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "record, field, problem",
    [
        ({"question": "Which?", "choices": [], "label": 0}, "choices", "0 choices"),
        ({"question": "Which?", "choices": ["a"], "label": 0}, "choices", "1 choices"),
        ({"question": "Which?", "label": 0}, "choices", "no choices"),
        ({"question": "Which?", "choices": "a, b", "label": 0}, "choices", "not a list"),
        ({"question": "Which?", "choices": ["a", " "], "label": 0}, "choices", "choice 1 is empty"),
        ({"question": "Which?", "choices": ["a", "b"], "label": "c"}, "label", "not among"),
        ({"question": "Which?", "choices": ["a", "b"], "label": 2}, "label", "out of range"),
        ({"question": "Which?", "choices": ["a", "a"], "label": "a"}, "label", "matches choices"),
        ({"question": "Which?", "choices": ["a", "b"], "label": True}, "label", "neither"),
        ({"question": "", "choices": ["a", "b"], "label": 0}, "question", "question is empty"),
        ({"context": "  ", "choices": ["a", "b"], "label": 0}, "context", "context is empty"),
        ({"choices": ["a", "b"], "label": 0}, "context", "neither a context nor a question"),
    ],
)  # fmt: skip
def test_bad_rows_name_file_line_field_and_fix(tmp_path, record, field, problem):
    good = {"question": "Fine?", "choices": ["yes", "no"], "label": 0}
    path = write_lines(tmp_path, [good, record])
    reader = reader_for(mc_task())
    with pytest.raises(DataError) as raised:
        list(reader.read(str(path)))
    error = raised.value
    assert (error.file, error.line, error.field, error.task) == (str(path), 2, field, "mc")
    assert problem in error.problem and error.fix
    assert f"{path}:2" in str(error) and "How to fix" in str(error)


def test_bad_rows_are_skipped_and_counted_with_skip_invalid(tmp_path):
    rows = [
        {"question": "Fine?", "choices": ["yes", "no"], "label": 0},
        {"question": "Which?", "choices": [], "label": 0},
        {"question": "Which?", "choices": ["a", "b"], "label": "c"},
        {"question": "Also fine?", "choices": ["yes", "no", "maybe"], "label": "maybe"},
    ]
    reader = reader_for(mc_task(), skip_invalid=True)
    instances = list(reader.read(str(write_lines(tmp_path, rows))))
    assert [instance["label"].label for instance in instances] == [0, 2]
    assert reader.skipped == 2


def test_cloze_without_the_blank_marker_is_an_error(tmp_path):
    path = write_lines(tmp_path, [{"question": "No gap here.", "choices": ["a", "b"], "label": 0}])
    with pytest.raises(DataError, match="blank marker '_'") as raised:
        list(reader_for(mc_task(blank="_")).read(str(path)))
    assert raised.value.field == "question" and raised.value.line == 1


def test_blank_option_needs_a_multiple_choice_task():
    task = TaskDefinition.from_params(
        Params(
            {
                "name": "ranker",
                "task_type": "ranking",
                "data_format": "premise_and_multi_hypothesis",
                "reader": {"type": "jsonl", "blank": "_"},
            }
        )
    )
    with pytest.raises(ConfigurationError, match="blank marker is for multiple_choice"):
        reader_for(task)
    with pytest.raises(ConfigurationError, match="non-empty"):
        reader_for(mc_task(blank=" "))


def test_multiple_choice_is_a_ranking_data_format_only():
    task = mc_task()
    assert (task.loss, task.head, task.metrics) == (
        "ranking_cross_entropy",
        {"type": "ranking"},
        ["accuracy"],
    )
    with pytest.raises(ConfigurationError, match="does not fit task_type 'classification'"):
        TaskDefinition.from_params(
            Params(
                {
                    "name": "x",
                    "task_type": "classification",
                    "data_format": "multiple_choice",
                    "labels": ["a", "b"],
                    "reader": {"type": "jsonl"},
                }
            )
        )


# --- model and predictor -------------------------------------------------------------------------


def tiny_model(*tasks: TaskDefinition) -> MultiTaskModel:
    encoder = SharedEncoder.from_params(Params({"type": "transformer", "model_name": TINY_BERT}))
    return MultiTaskModel(Vocabulary.empty(), encoder, list(tasks)).eval()


def tensors(reader: MultiTaskReader, examples: List[Dict[str, Any]]):
    batch = Batch([reader.text_to_instance(**example) for example in examples])
    batch.index_instances(Vocabulary.empty())
    return batch.as_tensor_dict()


EXAMPLES = [
    {"question": "Which is a fruit?", "choices": ["apple", "brick"], "label": "apple"},
    {
        "context": "It rained all day.",
        "question": "So the street was",
        "choices": ["dry", "wet", "on fire", "singing"],
        "label": 1,
    },
]


def test_model_scores_choices_masks_padding_and_reads_out_answers():
    task = mc_task()
    model = tiny_model(task)
    reader = MultiTaskReader([task], encoder=TINY_BERT)
    output = model(**tensors(reader, EXAMPLES))
    logits = output["logits"]
    assert logits.shape == (2, 4)
    assert logits[0, 2:].tolist() == [MASKED_SCORE, MASKED_SCORE]
    expected = torch.nn.functional.cross_entropy(logits.detach(), torch.tensor([0, 1]))
    assert output["loss"].item() == pytest.approx(expected.item(), abs=1e-5)
    accuracy = model.get_metrics(reset=True)["mc_accuracy"]
    assert accuracy == pytest.approx((logits.argmax(-1) == torch.tensor([0, 1])).float().mean())

    # Padding choices change nothing: the two-choice example scored alone gives the same.
    alone = model(**tensors(reader, EXAMPLES[:1]))["logits"]
    assert torch.allclose(alone[0], logits[0, :2], atol=1e-5)

    readable = model.make_output_human_readable(model(**tensors(reader, EXAMPLES)))
    best = logits.argmax(-1).tolist()
    assert readable["label"] == best
    assert readable["answer"] == [EXAMPLES[i]["choices"][best[i]] for i in range(2)]
    assert [len(p) for p in readable["probabilities"]] == [2, 4]
    for row, probabilities in zip(logits, readable["probabilities"], strict=True):
        assert sum(probabilities) == pytest.approx(1.0, abs=1e-4)
        real = row[: len(probabilities)].softmax(-1).tolist()
        assert probabilities == pytest.approx(real, abs=1e-5)
    assert "hypothesis" not in readable and "scores" not in readable


def test_predictor_takes_optional_context_and_question():
    task = mc_task()
    predictor = MultiTaskPredictor(tiny_model(task), MultiTaskReader([task], encoder=TINY_BERT))
    inputs = [
        {"id": "a", "question": "Which is a fruit?", "choices": ["apple", "brick", "cloud"]},
        {"id": "b", "context": "It rained.", "choices": ["Wet.", "Dry."]},
    ]
    results = predictor.predict_batch_json(inputs)
    assert [r["id"] for r in results] == ["a", "b"]
    for result, given in zip(results, inputs, strict=True):
        assert result["answer"] == given["choices"][result["label"]]
        assert len(result["probabilities"]) == len(given["choices"])
    with pytest.raises(DataError, match="input 3: no choices"):
        predictor.predict_json({"question": "Which?"})
    with pytest.raises(DataError, match="neither a context nor a question"):
        predictor.predict_json({"choices": ["a", "b"]})


@pytest.mark.parametrize(
    "layout",
    [
        {"type": "mtdnn_tsv"},
        {
            "type": "grouped_pairs_tsv",
            "columns": {"premise": "question", "hypothesis": "sentence"},
            "positive_label": "entailment",
        },
    ],
)
def test_ranking_only_layouts_refuse_a_multiple_choice_task(layout):
    task = TaskDefinition.from_params(
        Params(
            {
                "name": "mc",
                "task_type": "ranking",
                "data_format": "multiple_choice",
                "reader": layout,
            }
        )
    )
    with pytest.raises(ConfigurationError, match="Task 'mc'.*jsonl"):
        reader_for(task)
