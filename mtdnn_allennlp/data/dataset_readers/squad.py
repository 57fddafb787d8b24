"""SQuAD v1.1 and v2.0 JSON for extractive QA, with overlapping windows over long contexts.

Each question becomes one instance per window of its context: `[CLS] question [SEP] context
window [SEP]`. The fast tokenizer's offsets map word pieces back to characters of the context,
which places the gold answer on word pieces for training and turns a predicted span back into
the context's own text.
"""

import json
import logging
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader, Instance
from allennlp.data.fields import MetadataField, TensorField

from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.common.registered_names import register
from mtdnn_allennlp.data.dataset_readers.task_reader import RawExample, TaskReader
from mtdnn_allennlp.tasks.types.span_extraction import WindowMetadata

logger = logging.getLogger(__name__)

NO_ANSWER = 0  # the [CLS] position: the target when a window holds no answer


@register(DatasetReader, "mtdnn_squad_json", deprecated_name="squad_json")
class SquadReader(TaskReader):
    """SQuAD's JSON: `data[].paragraphs[].{context, qas[].{id, question, answers[], ...}}`.

    v2.0's `is_impossible` questions (no answer in the context) are read when the task's head
    has `no_answer: true`, and are an error otherwise.

    An answer whose `text` is not what the context holds at `answer_start` is never used as a
    training target: such answers are counted and reported at the end of the file, with the
    first few question ids. A question left with no usable answer is skipped (and counted); with
    `strict_answers: true` the first mismatch stops reading instead. Evaluation compares answer
    texts only, as the official script does.

    # Parameters

    doc_stride : `int`, optional (default = `128`)
        Word pieces that consecutive windows of a long context share, so that an answer cut by
        one window's edge is whole in the next.
    max_query_length : `int`, optional (default = `64`)
        Questions are cut to this many word pieces.
    strict_answers : `bool`, optional (default = `False`)
    **kwargs
        `TaskReader`'s parameters; `max_length` is the window's length in word pieces.
    """

    CACHE_SETTINGS = ("doc_stride", "max_query_length", "strict_answers", "no_answer")

    def __init__(
        self,
        doc_stride: int = 128,
        max_query_length: int = 64,
        strict_answers: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if self.task.data_format != "question_and_context":
            raise ConfigurationError(
                f"Task '{self.task.name}': the squad_json reader reads 'question_and_context' "
                f"tasks, not '{self.task.data_format}'."
            )
        room = self.max_length - max_query_length - 3  # [CLS] and two [SEP]
        if room <= 0 or not 0 <= doc_stride < room:
            raise ConfigurationError(
                f"Task '{self.task.name}': with max_length {self.max_length} and "
                f"max_query_length {max_query_length}, a window has {room} context word pieces; "
                f"doc_stride ({doc_stride}) must be smaller. Lower doc_stride or raise max_length."
            )
        self.doc_stride = doc_stride
        self.max_query_length = max_query_length
        self.strict_answers = strict_answers
        self.no_answer = bool(self.task.head.get("no_answer", False))
        self._reset_answer_counts()

    def _reset_answer_counts(self) -> None:
        self.answers_total = 0
        self.answers_mismatched = 0
        self.questions_without_answer = 0
        self.mismatched_ids: List[str] = []

    # --- the file -------------------------------------------------------------------------

    def raw_examples(self, path: Path) -> Iterable[RawExample]:
        self._reset_answer_counts()
        try:
            with open(path, encoding="utf-8") as handle:
                document = json.load(handle)
        except UnicodeDecodeError as error:
            raise DataError(
                f"not UTF-8 text (byte {error.start}: {error.reason}).",
                file=str(path),
                task=self.task.name,
                fix="save the file as UTF-8",
            ) from None
        except json.JSONDecodeError as error:
            raise DataError(
                f"not valid JSON ({error.msg}, line {error.lineno}).",
                file=str(path),
                line=error.lineno,
                task=self.task.name,
                fix='the file must be SQuAD\'s JSON: {"data": [{"paragraphs": [...]}]}',
            ) from None
        if not isinstance(document, dict) or not isinstance(document.get("data"), list):
            raise DataError(
                'the file has no "data" list.',
                file=str(path),
                task=self.task.name,
                fix='the file must be SQuAD\'s JSON: {"data": [{"paragraphs": [...]}]}',
            )
        number = 0
        for article in document["data"]:
            for paragraph in article.get("paragraphs", []):
                context = paragraph.get("context")
                for qa in paragraph.get("qas", []):
                    number += 1
                    example = self._example(path, number, context, qa)
                    if example is not None:
                        yield example

    def _example(
        self, path: Path, number: int, context: Any, qa: Dict[str, Any]
    ) -> Optional[RawExample]:
        qid = str(qa.get("id", number))

        def bad(problem: str, fix: str, field: str) -> RawExample:
            return self._bad_row(path, number, f"question {qid}: {problem}", fix, field)

        if not isinstance(context, str) or not context.strip():
            return bad("the context is empty.", "give every paragraph a context text", "context")
        question = qa.get("question")
        if not isinstance(question, str) or not question.strip():
            return bad("the question is empty.", "give every question its text", "question")
        impossible = bool(qa.get("is_impossible", False))
        if impossible and not self.no_answer:
            return bad(
                "is_impossible is true, but the task's head has no no-answer option.",
                "use a SQuAD v2.0 task (head: {no_answer: true}) for v2.0 files",
                "is_impossible",
            )
        answers = qa.get("answers")
        if answers is None:
            return RawExample(number, {"question": question, "context": context, "id": qid})
        if not isinstance(answers, list):
            return bad(
                f"answers is {type(answers).__name__} {answers!r}, not a list.",
                'write answers as a list: [{"text": "...", "answer_start": <character offset>}]',
                "answers",
            )
        aligned: List[Tuple[str, int]] = []
        texts: List[str] = []
        for answer in answers:
            text, start = (
                (answer.get("text"), answer.get("answer_start"))
                if isinstance(answer, dict)
                else (None, None)
            )
            if not isinstance(text, str) or not isinstance(start, int):
                return bad(
                    f"an answer lacks its text or answer_start: {answer}.",
                    'write answers as {"text": "...", "answer_start": <character offset>}',
                    "answers",
                )
            self.answers_total += 1
            texts.append(text)
            if context[start : start + len(text)] == text and text:
                aligned.append((text, start))
                continue
            self.answers_mismatched += 1
            if len(self.mismatched_ids) < 5:
                self.mismatched_ids.append(qid)
            if self.strict_answers:
                return bad(
                    f"the answer '{text}' is not in the context at answer_start {start} (it "
                    f"holds '{context[start : start + len(text)]}').",
                    "correct answer_start, or set strict_answers: false to skip and count such "
                    "answers",
                    "answers",
                )
        if not impossible and not aligned:
            self.questions_without_answer += 1
            return None
        fields = {
            "question": question,
            "context": context,
            "id": qid,
            "answers": [] if impossible else aligned,
            "answer_texts": [] if impossible else texts,
        }
        return RawExample(number, fields)

    def _log_counts(self, path: Path) -> None:
        super()._log_counts(path)
        if self.answers_mismatched:
            logger.warning(
                "task %s: %d of %d answers in %s do not match the context at their answer_start "
                "and were not used (first question ids: %s); %d questions had no usable answer "
                "left and were skipped.",
                self.task.name,
                self.answers_mismatched,
                self.answers_total,
                path,
                ", ".join(self.mismatched_ids),
                self.questions_without_answer,
            )

    # --- one question ---------------------------------------------------------------------

    def instances_of(self, example: RawExample) -> List[Instance]:
        return self.windows(**example.fields, line=example.line)

    def text_to_instance(  # type: ignore[override]
        self,
        question: Optional[str] = None,
        context: Optional[str] = None,
        id: Optional[Any] = None,
        line: Optional[int] = None,
    ) -> Instance:
        """For predictions: the question over the context's first window."""
        windows = self.windows(question, context, id=id, line=line)
        if len(windows) > 1:
            self.truncated += 1
        return windows[0]

    def windows(
        self,
        question: Optional[str],
        context: Optional[str],
        id: Optional[Any] = None,
        line: Optional[int] = None,
        answers: Optional[List[Tuple[str, int]]] = None,
        answer_texts: Optional[List[str]] = None,
    ) -> List[Instance]:
        question = self._checked_text(question, "question").strip()
        context = self._checked_text(context, "context")
        tokenizer = self.pieces.tokenizer
        asked = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)
        if len(asked["input_ids"]) > self.max_query_length:
            question = question[: asked["offset_mapping"][self.max_query_length - 1][1]]
        encoding = tokenizer(
            question,
            context,
            truncation="only_second",
            max_length=self.max_length,
            stride=self.doc_stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        example_id = id if id is not None else line
        instances = []
        for window in range(len(encoding["input_ids"])):
            ids = encoding["input_ids"][window]
            sequence = encoding.sequence_ids(window)
            offsets = [
                tuple(span) if part == 1 else None
                for span, part in zip(encoding["offset_mapping"][window], sequence, strict=True)
            ]
            if "token_type_ids" in encoding:
                type_ids = encoding["token_type_ids"][window]
            else:  # a tokenizer without segment ids (RoBERTa's): all 0
                type_ids = [0] * len(ids)
            allowed = [span is not None for span in offsets]
            allowed[NO_ANSWER] = True
            metadata = WindowMetadata(
                id=example_id,
                task=self.task.name,
                window=window,
                context=context,
                offsets=offsets,
                answers=answer_texts,
            )
            fields = {
                "tokens": self.pieces_field(ids, type_ids),
                "task": MetadataField(self.task.name),
                "metadata": MetadataField(metadata),
                "answer_mask": TensorField(torch.tensor(allowed, dtype=torch.bool)),
            }
            if answers is not None:
                start, end = self._target(answers, offsets)
                fields["label"] = TensorField(torch.tensor([start, end], dtype=torch.long))
            instances.append(Instance(fields))
        return instances

    @staticmethod
    def _target(answers: List[Tuple[str, int]], offsets: List) -> Tuple[int, int]:
        """Word-piece positions of the first answer that lies wholly in this window."""
        for text, start_char in answers:
            end_char = start_char + len(text)
            start = end = None
            for position, span in enumerate(offsets):
                if span is None or span[1] <= span[0]:
                    continue
                if start is None and span[0] <= start_char < span[1]:
                    start = position
                if span[0] < end_char <= span[1]:
                    end = position
            if start is not None and end is not None and start <= end:
                return start, end
        return NO_ANSWER, NO_ANSWER
