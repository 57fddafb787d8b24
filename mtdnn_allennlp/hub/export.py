"""One task of a trained model as a standard transformers folder (`allennlp export-hf`).

The folder holds an `AutoModelFor...` model, the tokenizer and a model card, so
`AutoModelFor....from_pretrained(folder)` and `pipeline(..., model=folder)` load it with no code
of this package. Each exportable head has one `HfMapping` below: the transformers class it
becomes, and where its weights go. A mapping is only kept when it is exact: after copying, the
transformers model is run next to the mtdnn model on probe inputs and the export is refused if
any output differs by more than `EXACT_TOLERANCE` (e.g. a ReLU pooler, which BERT's tanh pooler
cannot express).
"""

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple, Type

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.common.tqdm import Tqdm
from transformers import (
    AutoModelForQuestionAnswering,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    PretrainedConfig,
    PreTrainedModel,
)

from mtdnn_allennlp.data.tokenization import load_tokenizer
from mtdnn_allennlp.models.heads import (
    ClassificationHead,
    RankingHead,
    RegressionHead,
    SequenceLabelingHead,
    SpanExtractionHead,
)

logger = logging.getLogger(__name__)

# Largest absolute difference allowed between the mtdnn head's and the transformers model's
# outputs on the probe inputs (float32 kernels differ in summation order only).
EXACT_TOLERANCE = 1e-4

# Where a transformers sequence classifier keeps the (dense -> activation -> linear) of our
# classification head, as (dense, output) attribute paths; the first pair the class has is
# used. BERT-like: the encoder's pooler and `classifier`; RoBERTa/ELECTRA: a classification head
# with `dense` and `out_proj`; DeBERTa: its own `pooler` and `classifier`.
CLASSIFIER_LAYOUTS = (
    ("classifier.dense", "classifier.out_proj"),
    ("{base}.pooler.dense", "classifier"),
    ("pooler.dense", "classifier"),
)


@dataclass(frozen=True)
class HfMapping:
    auto_class: Type
    pipeline_tag: str
    # Config values of the transformers model (labels, problem type), from the task.
    config_values: Callable[[Any], Dict[str, Any]]
    # Copies the head's weights into the transformers model; returns nothing or raises.
    copy_head: Callable[[torch.nn.Module, PreTrainedModel], None]
    # The head's output on encoded probe inputs, shaped like `hf_output`'s.
    head_output: Callable[[torch.nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]
    hf_output: Callable[[Any], torch.Tensor]
    usage: str  # how the card tells a user to call the pipeline


def _labels(task) -> Dict[str, Any]:
    labels = task.labels or []
    return {
        "num_labels": len(labels),
        "id2label": dict(enumerate(labels)),
        "label2id": {label: i for i, label in enumerate(labels)},
    }


def _one_score(name: str, problem_type: Optional[str]) -> Callable[[Any], Dict[str, Any]]:
    def values(task) -> Dict[str, Any]:
        return {
            "num_labels": 1,
            "id2label": {0: name},
            "label2id": {name: 0},
            "problem_type": problem_type,
        }

    return values


def _attribute(model: torch.nn.Module, path: str) -> Optional[torch.nn.Module]:
    for part in path.split("."):
        model = getattr(model, part, None)
        if model is None:
            return None
    return model


def _copy_linear(source: torch.nn.Linear, target: Optional[torch.nn.Module], where: str) -> None:
    if not isinstance(target, torch.nn.Linear) or target.weight.shape != source.weight.shape:
        raise ConfigurationError(f"the transformers model has no matching linear layer {where}")
    with torch.no_grad():
        target.weight.copy_(source.weight)
        target.bias.copy_(source.bias)


def _copy_pooled_head(head: ClassificationHead, hf_model: PreTrainedModel) -> None:
    base = hf_model.base_model_prefix
    for dense_path, output_path in CLASSIFIER_LAYOUTS:
        dense_path = dense_path.format(base=base)
        dense, output = _attribute(hf_model, dense_path), _attribute(hf_model, output_path)
        if isinstance(dense, torch.nn.Linear) and isinstance(output, torch.nn.Linear):
            _copy_linear(head.pooler, dense, dense_path)
            _copy_linear(head.output, output, output_path)
            return
    raise ConfigurationError(
        f"{type(hf_model).__name__} has no pooler and classifier layout this export knows "
        f"({[pair for pair in CLASSIFIER_LAYOUTS]})"
    )


def _copy_output(attribute: str) -> Callable[[torch.nn.Module, PreTrainedModel], None]:
    def copy(head, hf_model) -> None:
        _copy_linear(head.output, _attribute(hf_model, attribute), attribute)

    return copy


def _pooled_output(head, encoded, mask):
    return head(encoded, mask).reshape(encoded.size(0), -1)


def _logits(output) -> torch.Tensor:
    return output.logits


def _span_logits(output) -> torch.Tensor:
    return torch.stack([output.start_logits, output.end_logits], dim=-1)


def _span_output(head, encoded, mask):
    return head.output(encoded)  # unmasked: transformers masks the question when decoding


CLASSIFICATION = HfMapping(
    AutoModelForSequenceClassification,
    "text-classification",
    _labels,
    _copy_pooled_head,
    _pooled_output,
    _logits,
    'pipeline("text-classification", model=FOLDER, top_k=None)'
    '({"text": premise, "text_pair": hypothesis})',
)
# The exported model's class, per head class (exact type: a subclass is a different head).
HF_MAPPINGS: Dict[type, HfMapping] = {
    ClassificationHead: CLASSIFICATION,
    RegressionHead: HfMapping(
        AutoModelForSequenceClassification,
        "text-classification",
        _one_score("score", "regression"),
        _copy_pooled_head,
        _pooled_output,
        _logits,
        'pipeline("text-classification", model=FOLDER, function_to_apply="none")'
        '({"text": first, "text_pair": second})  # the score is the raw output',
    ),
    # A ranking task scores each (premise, candidate) pair alone, then takes a softmax across
    # one premise's candidates: the pair score is exactly a one-logit sequence classifier's
    # output, and the softmax across candidates is left to the user (the card says so).
    RankingHead: HfMapping(
        AutoModelForSequenceClassification,
        "text-classification",
        _one_score("relevance", None),
        _copy_pooled_head,
        lambda head, encoded, mask: head.pair_scores(encoded).unsqueeze(-1),
        _logits,
        'pipeline("text-classification", model=FOLDER, function_to_apply="none") on each '
        "(premise, candidate) pair, then a softmax across one premise's candidate scores",
    ),
    SequenceLabelingHead: HfMapping(
        AutoModelForTokenClassification,
        "token-classification",
        _labels,
        _copy_output("classifier"),
        lambda head, encoded, mask: head(encoded, mask),
        _logits,
        'pipeline("token-classification", model=FOLDER, ignore_labels=[]) '
        "(each word's tag is its first word piece's). transformers decodes each word's best "
        "tag alone: unlike the archive's constrained decoding, which always gives valid BIO, "
        "an I- tag can follow O",
    ),
    SpanExtractionHead: HfMapping(
        AutoModelForQuestionAnswering,
        "question-answering",
        lambda task: {},
        _copy_output("qa_outputs"),
        _span_output,
        _span_logits,
        'pipeline("question-answering", model=FOLDER)(question=..., context=..., '
        "align_to_words=False, max_answer_len=30, handle_impossible_answer=True)  # as trained: "
        "answers are word-piece spans of at most 30 pieces; the last one for SQuAD v2.0 style",
    ),
}

# Why a head or data format has no standard transformers class (a task type says so itself:
# `TaskType.hf_refusal`).
REFUSALS = {
    "san": "the SAN head runs a multi-step answer module (a GRU over attention memories, with "
    "stochastic step dropout) that no transformers AutoModel class has",
    "multiple_choice": "multiple choice builds its (context, choice) pairs, cloze blanks "
    "included, in the reader; AutoModelForMultipleChoice scores choices with one linear layer "
    "on BERT's pooler and no pipeline() reads it",
}


def mapping_for(model, task_name: str) -> HfMapping:
    """The mapping of task `task_name`'s head; a ConfigurationError says why there is none."""
    if task_name not in model.heads:
        raise ConfigurationError(
            f"The model has no task '{task_name}'; its tasks: {sorted(model.heads)}."
        )
    task = model.tasks[task_name]
    head = model.heads[task_name]
    reason = REFUSALS.get(task.data_format) or REFUSALS.get(task.head.get("type"))
    reason = reason or task.kind.hf_refusal
    mapping = HF_MAPPINGS.get(type(head))
    if reason is None and mapping is None:
        reason = f"no transformers class is mapped for the head {type(head).__name__}"
    if reason is not None:
        raise ConfigurationError(
            f"Task '{task_name}' ({task.task_type}, head '{task.head.get('type')}') cannot be "
            f"exported as a transformers model: {reason}. Exportable heads: classification, "
            "regression, ranking, sequence_labeling, span_extraction."
        )
    transformer = getattr(model.encoder, "transformer", None)
    if not isinstance(transformer, PreTrainedModel):
        raise ConfigurationError(
            f"Task '{task_name}': the model's encoder ({type(model.encoder).__name__}) is not a "
            "transformers model, so there is no AutoModel to export it as. Use "
            "`allennlp export-onnx` for it."
        )
    return mapping  # type: ignore[return-value]


def build_hf_model(model, task_name: str) -> Tuple[PreTrainedModel, HfMapping]:
    """The transformers model of one task, with the encoder's and the head's weights, checked
    against the mtdnn model on probe inputs."""
    mapping = mapping_for(model, task_name)
    task, head = model.tasks[task_name], model.heads[task_name]
    transformer = model.encoder.transformer
    config: PretrainedConfig = transformer.config.__class__.from_dict(transformer.config.to_dict())
    for key, value in mapping.config_values(task).items():
        setattr(config, key, value)
    config.architectures = None
    hf_model = mapping.auto_class.from_config(config).eval()
    encoder_weights = transformer.state_dict()
    missing, unexpected = hf_model.base_model.load_state_dict(encoder_weights, strict=False)
    if unexpected:
        raise ConfigurationError(
            f"Task '{task_name}': encoder weights {unexpected[:3]} have no place in "
            f"{type(hf_model).__name__}."
        )
    try:
        mapping.copy_head(head, hf_model)
    except ConfigurationError as error:
        raise ConfigurationError(f"Task '{task_name}': {error}.") from None
    check_exact(model, task_name, hf_model, mapping)
    return hf_model, mapping


def probe_inputs(vocab_size: int, type_vocab_size: int) -> Dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(5, min(vocab_size, 1000), (2, 12), generator=generator)
    mask = torch.ones_like(ids)
    types = torch.zeros_like(ids)
    if type_vocab_size > 1:
        types[:, 6:] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def check_exact(model, task_name: str, hf_model: PreTrainedModel, mapping: HfMapping) -> None:
    model.eval()
    config = hf_model.config
    inputs = probe_inputs(config.vocab_size, getattr(config, "type_vocab_size", 1))
    with torch.no_grad():
        encoded = model.encoder(
            inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"]
        )
        expected = mapping.head_output(model.heads[task_name], encoded, inputs["attention_mask"])
        if getattr(config, "type_vocab_size", 1) <= 1:
            inputs.pop("token_type_ids")
        actual = mapping.hf_output(hf_model(**inputs))
    difference = (actual - expected).abs().max().item()
    if actual.shape != expected.shape or difference > EXACT_TOLERANCE:
        pooler = model.tasks[task_name].head.get("pooler_activation", "tanh")
        raise ConfigurationError(
            f"Task '{task_name}': {type(hf_model).__name__} does not reproduce the head (largest "
            f"difference {difference:.3g} on probe inputs, pooler_activation '{pooler}'), so it "
            "is not exported. transformers' classifier for this encoder fixes its activation "
            "(BERT and RoBERTa: tanh); train the head with that activation, or use "
            "`allennlp export-onnx`."
        )


def export_task(
    model,
    reader,
    task_name: str,
    folder: str,
    card_values: Optional[Dict[str, Any]] = None,
) -> Path:
    """Writes task `task_name` of `model` (with its `reader`'s tokenizer and lengths) into
    `folder` as a transformers model, tokenizer and model card; returns the folder."""
    from mtdnn_allennlp.hub.model_card import model_card

    progress = Tqdm.tqdm(total=3, desc=f"export-hf {task_name}: model, tokenizer, card")
    hf_model, mapping = build_hf_model(model, task_name)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    hf_model.save_pretrained(out)
    progress.update()
    save_tokenizer(model, reader, task_name, out)
    progress.update()
    model_card(model.tasks[task_name], mapping, card_values or {}).save(out / "README.md")
    progress.update()
    progress.close()
    logger.info("task %s exported to %s as %s", task_name, out, type(hf_model).__name__)
    return out


def save_tokenizer(model, reader, task_name: str, folder: Path) -> None:
    """The encoder's tokenizer, with the reader's longest input as its model_max_length (so
    `truncation=True` cuts where training did). Sequence labelling gets the tokenizer that
    splits pre-split words (a byte-level BPE one with a prefix space)."""
    task_reader = reader.readers[task_name]
    split_words = model.tasks[task_name].data_format == "sequence"
    tokenizer = load_tokenizer(model.encoder.tokenizer_name, split_words=split_words)
    tokenizer.save_pretrained(folder)
    settings = folder / "tokenizer_config.json"
    config = json.loads(settings.read_text())
    config["model_max_length"] = task_reader.max_length
    settings.write_text(json.dumps(config, indent=2, ensure_ascii=False))
