"""Multiple-choice examples (SWAG, ARC, COPA style, and cloze): the `multiple_choice` data format.

An example is an optional context, an optional question (at least one of the two) and N
candidate answers, one of them right; N may differ between examples. It is built exactly like a
ranking example (one `(first text, second text)` pair per choice in a `ListField`, the label the
right choice's index), so the ranking head, loss, metrics and the model's candidate padding are
reused unchanged. See docs/multiple_choice.md.

The pair of a choice:

| the example has | first text | second text |
| --- | --- | --- |
| context and question | context | question + " " + choice |
| only a context, or only a question | that text | choice |
| a blank marker in the question (cloze) | context, if any | question with the choice in the blank |
| a blank marker in the context only | context with the choice in the blank | question, if any |
"""

from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple

from allennlp.data import Instance

from mtdnn_allennlp.common.errors import DataError

if TYPE_CHECKING:  # the reader imports this module
    from mtdnn_allennlp.data.dataset_readers.task_reader import TaskReader

MIN_CHOICES = 2
LAYOUT = '{"context": ..., "question": ..., "choices": ["...", "..."], "label": 0}'


def choice_instance(
    reader: "TaskReader",
    context: Any,
    question: Any,
    choices: Any,
    label: Any,
    metadata: Dict[str, Any],
) -> Instance:
    """One instance per example: `tokens` holds one pair per choice, `label` the right index."""
    context = _optional_text(context, "context")
    question = _optional_text(question, "question")
    if context is None and question is None:
        raise DataError(
            "the example has neither a context nor a question.",
            field="context",
            fix=f"give a context, a question or both, then the choices: {LAYOUT}",
        )
    choices = checked_choices(choices)
    pairs = [choice_pair(context, question, choice, reader.blank) for choice in choices]
    fields_per_choice = []
    truncated = False
    for first, second in pairs:
        encoded = reader.pieces.encode_texts(first, second)
        truncated = truncated or encoded.truncated
        fields_per_choice.append(reader.pieces_field(encoded.ids, encoded.type_ids))
    reader.truncated += truncated  # counted once per example, like the other data formats
    if truncated:
        metadata["truncated"] = True
    metadata.update(context=context, question=question, choices=choices)
    index = None if label is None else choice_index(label, choices)
    return reader._candidates_instance(fields_per_choice, metadata, index)


def _optional_text(text: Any, name: str) -> Optional[str]:
    if text is None:
        return None
    if not isinstance(text, str) or not text.strip():
        raise DataError(
            f"{name} is empty or not a text.",
            field=name,
            fix=f"write the {name} as a non-empty string, or leave the key out",
        )
    return text


def checked_choices(choices: Any) -> List[str]:
    """The candidate answers: a list of at least two non-empty texts."""
    if choices is None:
        raise DataError(
            "the example has no choices.", field="choices", fix=f"one JSON object a line: {LAYOUT}"
        )
    if not isinstance(choices, (list, tuple)):
        raise DataError(
            f"choices is a {type(choices).__name__}, not a list.",
            field="choices",
            fix='give the candidate answers as a JSON list: "choices": ["...", "..."]',
        )
    if len(choices) < MIN_CHOICES:
        raise DataError(
            f"{len(choices)} choices; multiple choice needs at least {MIN_CHOICES}.",
            field="choices",
            fix="list every candidate answer, the right one among them",
        )
    for position, choice in enumerate(choices):
        if not isinstance(choice, str) or not choice.strip():
            raise DataError(
                f"choice {position} is empty or not a text.",
                field="choices",
                fix="every choice must be a non-empty string; remove or fill the empty one",
            )
    return list(choices)


def choice_pair(
    context: Optional[str], question: Optional[str], choice: str, blank: Optional[str]
) -> Tuple[str, Optional[str]]:
    """The (first, second) texts that are encoded together for one choice."""
    if blank is not None:
        if question is not None and blank in question:
            filled = question.replace(blank, choice)
            return (context, filled) if context is not None else (filled, None)
        if context is not None and blank in context:
            return context.replace(blank, choice), question
        raise DataError(
            f"the blank marker '{blank}' is in neither the question nor the context.",
            field="question" if question is not None else "context",
            fix=f"mark the gap with '{blank}', or drop the reader's blank option for this task",
        )
    if context is not None and question is not None:
        return context, f"{question} {choice}"
    return (context if context is not None else question), choice  # type: ignore[return-value]


def choice_pairs(reader: "TaskReader", example: Mapping[str, Any]) -> List[Tuple[str, Any]]:
    """The pairs `choice_instance` will encode for an example, or none where the example is
    malformed (its build reports it)."""
    try:
        context = _optional_text(example.get("context"), "context")
        question = _optional_text(example.get("question"), "question")
        choices = checked_choices(example.get("choices"))
        return [choice_pair(context, question, choice, reader.blank) for choice in choices]
    except DataError:
        return []


def choice_index(label: Any, choices: List[str]) -> int:
    """The right choice: a 0-based index (a JSON number) or the choice's exact text."""
    fix = (
        "the label is the right choice's 0-based index (a JSON number) or its exact text, "
        f"one of {choices}"
    )
    if isinstance(label, bool) or not isinstance(label, (int, str)):
        raise DataError(f"label {label!r} is neither an index nor a text.", field="label", fix=fix)
    if isinstance(label, int):
        if not 0 <= label < len(choices):
            raise DataError(
                f"label {label} is out of range for {len(choices)} choices.",
                field="label",
                fix=f"{fix}: 0 to {len(choices) - 1} here",
            )
        return label
    matches = [i for i, choice in enumerate(choices) if choice.strip() == label.strip()]
    if not matches:
        raise DataError(f"label '{label}' is not among the choices.", field="label", fix=fix)
    if len(matches) > 1:
        raise DataError(
            f"label '{label}' matches choices {matches}.",
            field="label",
            fix="the choices repeat this text: give the right one's index instead",
        )
    return matches[0]
