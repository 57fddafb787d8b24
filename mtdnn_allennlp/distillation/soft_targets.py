"""Soft targets: what teachers predict for each training example, keyed by (task, example id).

A soft-target file is JSON lines, one example per line:

- classification: ``{"task": "rte", "id": "7", "probabilities": [0.91, 0.09]}``, the softmax
  of the teacher's logits, in the order of the task's labels;
- regression: ``{"task": "stsb", "id": "7", "score": 3.2}``, the teacher's predicted score;
- sequence labelling: ``{"task": "conll2003", "id": "12", "probabilities": [[...], null, ...]}``,
  one distribution per word, read at the word's first word piece (``null`` for a word that
  truncation left without a piece). Per word rather than per piece, so that teachers and students
  with different tokenizers can share a file;
- ranking and multiple choice: ``{"task": "qnli_ranking", "id": "3", "probabilities": [...]}``,
  the softmax across the example's candidates, in their order (as many as the example has);
- extractive QA: ``{"task": "squad_v1", "id": "q7", "start": [...], "end": [...],
  "no_answer": [p_start, p_end]}``: per whitespace-separated word of the context, the probability
  that the answer starts (ends) in that word, summed over the word's pieces and averaged over the
  teacher's windows that hold the word (``null`` for a word no window holds), and the
  probabilities of the no-answer position ([CLS]), averaged over windows. Per word for the same
  reason as tagging: windows and pieces depend on the tokenizer.

Masked LM has no soft targets: its inputs and targets are drawn anew for every batch, so there
is no fixed example for a teacher's output to be kept for.

An ensemble of teachers averages, per example, the probabilities (element-wise, per word for
tagging) or the scores. The student reads ``log(probabilities)`` as its target logits, so a
``kl_divergence`` kd_loss with temperature T compares ``softmax(student_logits / T)`` with
``softmax(log(p) / T)``, which for one teacher is exactly ``softmax(teacher_logits / T)``.
"""

import bisect
import json
import math
import re
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.common.tqdm import Tqdm

from mtdnn_allennlp.common.atomic import atomic_file
from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.losses import MASKED_SCORE
from mtdnn_allennlp.tasks import TaskDefinition

# Probabilities are clamped to this before the log, so that a class a teacher rules out entirely
# (a probability that underflowed to 0) gives a finite target logit.
MIN_PROBABILITY = 1e-12

Key = Tuple[str, str]  # (task, example id)
Record = Dict[str, Any]

# The task types whose teachers' outputs can be kept per example.
SOFT_TARGET_TYPES = (
    "classification",
    "regression",
    "sequence_labeling",
    "ranking",
    "span_extraction",
)
# Task types whose targets are distributions over a variable number of positions (candidates,
# word pieces): padding must get no probability, so it is padded with a masked score, not 0.
_PADDED_WITH_MASKED_SCORE = ("ranking", "span_extraction")


def check_distillable(task: TaskDefinition) -> None:
    """Refuses, at config time, a task whose type has no soft-target form."""
    if task.task_type not in SOFT_TARGET_TYPES:
        raise ConfigurationError(
            f"task '{task.name}' is of type '{task.task_type}', which has no soft targets "
            f"(types that have: {', '.join(SOFT_TARGET_TYPES)}). Masked LM draws its inputs and "
            "targets anew for every batch; train it without soft targets, in another stage."
        )


def target_padding(task: TaskDefinition) -> float:
    """The value a batch pads a task's soft targets with."""
    return MASKED_SCORE if task.task_type in _PADDED_WITH_MASKED_SCORE else 0.0


def example_key(task: str, example_id: Any) -> Key:
    """Ids are compared as strings: a file's id column and a line number both become text."""
    return (task, str(example_id))


# --- teacher outputs -----------------------------------------------------------------------


def context_words(context: str) -> List[Tuple[int, int]]:
    """The (start, end) characters of the context's whitespace-separated words, SQuAD's own
    word split: the unit extractive-QA soft targets are kept in."""
    return [match.span() for match in re.finditer(r"\S+", context)]


def piece_words(
    offsets: List[Optional[Tuple[int, int]]], words: List[Tuple[int, int]]
) -> List[Optional[int]]:
    """For each word piece of a window, the index of the context word (`context_words`) it lies
    in (None for the question, special pieces and padding)."""
    starts = [start for start, _ in words]
    result: List[Optional[int]] = []
    for span in offsets:
        index = None
        if span is not None and span[1] > span[0]:
            candidate = bisect.bisect_right(starts, span[0]) - 1
            if candidate >= 0 and span[0] < words[candidate][1]:
                index = candidate
        result.append(index)
    return result


def _window_record(logits: torch.Tensor, meta: Dict[str, Any]) -> Record:
    """One window's start and end probabilities per context word (summed over the word's
    pieces; null for words outside the window) and at the no-answer position."""
    probabilities = logits.softmax(0)  # (pieces, 2): over the positions, start and end apart
    words = context_words(meta["context"])
    start: List[Optional[float]] = [None] * len(words)
    end: List[Optional[float]] = [None] * len(words)
    for position, word in enumerate(piece_words(meta["offsets"], words)):
        if word is not None:
            start[word] = (start[word] or 0.0) + float(probabilities[position, 0])
            end[word] = (end[word] or 0.0) + float(probabilities[position, 1])
    return {"start": start, "end": end, "no_answer": probabilities[0].tolist()}


def records_from_logits(
    task: TaskDefinition,
    logits: torch.Tensor,
    metadata: List[Dict[str, Any]],
    candidates: Optional[torch.Tensor] = None,
) -> List[Record]:
    """One record per instance of a batch of one task, from the model's raw outputs.

    For ranking, `candidates` `(batch, candidates)` marks each example's real candidates (a
    batch pads to its longest example). For extractive QA an instance is one window of a
    context: `teacher_records` averages the windows of one question with `average_span_records`.
    """
    logits = logits.detach().float().cpu()
    records: List[Record] = []
    for row, meta in enumerate(metadata):
        record: Record = {"task": task.name, "id": str(meta["id"])}
        if task.task_type == "regression":
            record["score"] = float(logits[row])
        elif task.task_type == "classification":
            record["probabilities"] = logits[row].softmax(-1).tolist()
        elif task.task_type == "sequence_labeling":
            probabilities = logits[row].softmax(-1)
            record["probabilities"] = [
                probabilities[start].tolist() if start >= 0 else None
                for start in meta["word_starts"]
            ]
        elif task.task_type == "ranking":
            present = logits[row] if candidates is None else logits[row][candidates[row].bool()]
            record["probabilities"] = present.softmax(-1).tolist()
        elif task.task_type == "span_extraction":
            record.update(_window_record(logits[row], meta))
        else:  # a task type added to TASK_TYPES without a soft-target form
            raise DataError(
                f"no soft-target form for task type '{task.task_type}'.", task=task.name
            )
        records.append(record)
    return records


def teacher_records(
    archive_file: str,
    data_path: Any,
    batch_size: int = 64,
    cuda_device: int = -1,
    sample_per_task: Optional[int] = None,
    sample_seed: int = 0,
) -> Dict[Key, Record]:
    """Runs one trained model (an archive) over data files and returns its records.

    `data_path` is what `allennlp evaluate` takes: a {task: file} mapping (or its JSON text), or
    one file for a single-task model. The archive's validation reader reads it, so every example
    is read and ids are the reader's stable example ids. With `sample_per_task`, only the seeded
    subset that a student trained with the same `sample_per_task` and `sample_seed`
    (MTDNN_TRAIN_EXAMPLES and MTDNN_SEED) reads: no teacher passes over examples it never uses.
    """
    from allennlp.data import Batch
    from allennlp.models.archival import load_archive
    from allennlp.nn.util import move_to_device

    archive = load_archive(archive_file, cuda_device=cuda_device)
    model = archive.model
    model.eval()
    device = next(model.parameters()).device
    reader = archive.validation_dataset_reader
    if sample_per_task is not None:
        for task_reader in reader.readers.values():
            task_reader.sample_size = sample_per_task
            task_reader.sample_seed = sample_seed
    records: Dict[Key, Record] = {}
    for task_name, path in reader.task_paths(data_path).items():
        task = model.tasks[task_name]
        check_distillable(task)
        instances = list(reader.read_task(task_name, path))
        windows: Dict[Key, List[Record]] = {}  # extractive QA: the windows of each question
        progress = Tqdm.tqdm(
            range(0, len(instances), batch_size),
            desc=f"soft targets {task_name}: {len(instances)} instances",
            unit=" batches",
        )
        for start in progress:
            chunk = instances[start : start + batch_size]
            batch = Batch(chunk)
            batch.index_instances(model.vocab)
            # On the model's device (--cuda-device): the teacher reads tensors where it lives.
            tensors = move_to_device(batch.as_tensor_dict(), device)
            tensors.pop("label", None)
            with torch.no_grad():
                output = model(**tensors)
            candidates = None
            if task.task_type == "ranking":
                candidates = tensors["tokens"]["tokens"]["mask"].bool().any(-1).cpu()
            for record in records_from_logits(
                task, output["logits"], tensors["metadata"], candidates
            ):
                key = example_key(task_name, record["id"])
                if task.task_type == "span_extraction":
                    windows.setdefault(key, []).append(record)
                    continue
                if key in records:
                    raise DataError(
                        f"two examples have the id '{key[1]}'.",
                        file=str(path),
                        task=task_name,
                        field="id",
                        fix="soft targets are joined by id: give every example a unique id "
                        "(or drop the id column, so that line numbers are used)",
                    )
                records[key] = record
        for key, parts in windows.items():
            records[key] = average_span_records(parts)
    return records


def average_records(teachers: List[Dict[Key, Record]], names: List[str]) -> Dict[Key, Record]:
    """The ensemble: per example, the mean of the teachers' probabilities or scores.

    Every teacher must have covered exactly the same examples; `names` name them in errors.
    """
    if not teachers:
        raise ValueError("an ensemble needs at least one teacher")
    first = teachers[0]
    for name, records in zip(names[1:], teachers[1:], strict=True):
        missing = sorted(set(first) - set(records))
        extra = sorted(set(records) - set(first))
        if missing or extra:
            task, example = (missing or extra)[0]
            problem = "has no" if missing else "has an extra"
            raise DataError(
                f"teacher {name} {problem} output for example id '{example}' "
                f"({len(missing)} missing, {len(extra)} extra compared with {names[0]}).",
                file=name,
                task=task,
                field="id",
                fix="run every teacher of an ensemble on the same data files",
            )
    averaged: Dict[Key, Record] = {}
    for key, record in Tqdm.tqdm(first.items(), desc="averaging teachers", unit=" examples"):
        rows = [records[key] for records in teachers]
        merged: Record = {"task": record["task"], "id": record["id"]}
        if "score" in record:
            merged["score"] = sum(row["score"] for row in rows) / len(rows)
        elif "start" in record:
            merged = average_span_records(rows)
        elif record["probabilities"] and isinstance(record["probabilities"][0], (list, type(None))):
            merged["probabilities"] = _average_per_word([row["probabilities"] for row in rows])
        else:
            merged["probabilities"] = _mean_vectors([row["probabilities"] for row in rows])
        averaged[key] = merged
    return averaged


def merge_records(parts: List[Dict[Key, Record]], names: List[str]) -> Dict[Key, Record]:
    """Concatenates soft targets made by different teachers for different examples, e.g. one
    file per task from that task's refined teachers, into one file for a multi-task student.

    Nothing is averaged, so an example in two parts is an error (naming both files, the task,
    the id and its line): two teachers for the same example are an ensemble, which
    `average_records` makes.
    """
    if not parts:
        raise ValueError("merging needs at least one soft-target file")
    merged: Dict[Key, Record] = {}
    owner: Dict[Key, str] = {}
    for name, records in zip(names, parts, strict=True):
        for key, record in Tqdm.tqdm(records.items(), desc=f"merging {name}", unit=" examples"):
            if key in merged:
                raise DataError(
                    f"example id '{key[1]}' has soft targets in both {owner[key]} and {name}.",
                    file=name,
                    line=record.get("_line"),
                    task=key[0],
                    field="id",
                    fix="merge files of different tasks (or different examples); to average "
                    "teachers of the same examples use `allennlp ensemble-soft-targets`",
                )
            merged[key] = record
            owner[key] = name
    return merged


def _mean_vectors(vectors: List[List[float]]) -> List[float]:
    widths = {len(vector) for vector in vectors}
    if len(widths) != 1:
        raise DataError(f"teachers disagree on the number of classes: {sorted(widths)}.")
    return [sum(column) / len(vectors) for column in zip(*vectors, strict=True)]


def _average_per_word(sequences: List[List[Any]]) -> List[Any]:
    """Per word, the mean of the values (distributions, or numbers) that are not null."""
    lengths = {len(sequence) for sequence in sequences}
    if len(lengths) != 1:
        raise DataError(f"teachers disagree on the number of words: {sorted(lengths)}.")
    averaged: List[Any] = []
    for per_teacher in zip(*sequences, strict=True):
        # A teacher whose tokenizer truncated a word (a window that does not hold it) has no
        # value for it; the others' are averaged. A word none reached stays null.
        present = [each for each in per_teacher if each is not None]
        if not present:
            averaged.append(None)
        elif isinstance(present[0], list):
            averaged.append(_mean_vectors(present))
        else:
            averaged.append(sum(present) / len(present))
    return averaged


def average_span_records(parts: List[Record]) -> Record:
    """Extractive QA: the per-word mean of several windows' (or teachers') start and end
    probabilities, and the mean no-answer probabilities."""
    return {
        "task": parts[0]["task"],
        "id": parts[0]["id"],
        "start": _average_per_word([part["start"] for part in parts]),
        "end": _average_per_word([part["end"] for part in parts]),
        "no_answer": _mean_vectors([part["no_answer"] for part in parts]),
    }


# --- files ---------------------------------------------------------------------------------


def write_records(records: Mapping[Key, Record], path: str) -> None:
    """Writes the file whole or not at all (a temporary file renamed into place)."""
    with atomic_file(path, "w", encoding="utf-8") as handle:
        for record in records.values():
            handle.write(json.dumps(record) + "\n")


def read_records(path: str) -> Dict[Key, Record]:
    """Reads a soft-target file as written, checking only its structure (see `check_record`)."""
    file = Path(path)
    if not file.is_file():
        raise DataError(
            "soft-target file not found.",
            file=str(file),
            fix="make it with `allennlp soft-targets TEACHER_ARCHIVE TRAIN_PATHS --output-file "
            "F --include-package mtdnn_allennlp` (see docs/distillation.md)",
        )
    records: Dict[Key, Record] = {}
    with open(file, "rb") as handle:
        for line_number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise DataError(
                    f"not UTF-8 text (byte {error.start} of the line: {error.reason}).",
                    file=str(file),
                    line=line_number,
                    fix="give a soft-target JSONL file written by `allennlp soft-targets`",
                ) from None
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataError(
                    f"not a JSON object ({error.msg}).",
                    file=str(file),
                    line=line_number,
                    fix="each line holds one example's soft targets as a JSON object",
                ) from None
            if not isinstance(record, dict) or "task" not in record or "id" not in record:
                raise DataError(
                    "a soft-target line needs 'task' and 'id' keys.",
                    file=str(file),
                    line=line_number,
                    fix='write e.g. {"task": "rte", "id": "7", "probabilities": [0.9, 0.1]}',
                )
            key = example_key(record["task"], record["id"])
            if key in records:
                raise DataError(
                    f"example id '{key[1]}' appears twice.",
                    file=str(file),
                    line=line_number,
                    task=key[0],
                    field="id",
                    fix="keep one line per (task, id)",
                )
            record["_line"] = line_number
            records[key] = record
    return records


def check_record(task: TaskDefinition, record: Record, file: str) -> None:
    """Raises a DataError naming the id and the file if a record does not fit its task."""

    def fail(problem: str, field: str, fix: str) -> None:
        raise DataError(
            f"example id '{record['id']}': {problem}",
            file=file,
            line=record.get("_line"),
            task=task.name,
            field=field,
            fix=fix,
        )

    def check_probabilities(values: Iterable[Any], field: str) -> None:
        for value in values:
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                fail(
                    f"probability {value!r} is not a finite non-negative number.",
                    field,
                    "remake the soft targets; a teacher produced NaN or infinite outputs",
                )

    if task.task_type == "regression":
        score = record.get("score")
        if not isinstance(score, (int, float)) or isinstance(score, bool):
            fail(f"score is {score!r}, not a number.", "score", "give the teacher's score")
        if not math.isfinite(score):
            fail(f"score is {score}.", "score", "remake the soft targets; a teacher diverged")
        return
    if task.task_type == "span_extraction":
        for field in ("start", "end"):
            if not isinstance(record.get(field), list):
                fail(
                    f"no {field} list (got {record.get(field)!r}).",
                    field,
                    "an extractive-QA soft target holds start and end probabilities per word "
                    "of the context",
                )
            check_probabilities([value for value in record[field] if value is not None], field)
        if len(record["start"]) != len(record["end"]):
            fail(
                f"{len(record['start'])} start but {len(record['end'])} end probabilities.",
                "end",
                "remake the soft targets: start and end have one value per context word",
            )
        no_answer = record.get("no_answer")
        if not isinstance(no_answer, list) or len(no_answer) != 2:
            fail(
                f"no_answer is {no_answer!r}, not [start, end] probabilities.",
                "no_answer",
                "give the no-answer position's start and end probabilities",
            )
        check_probabilities(no_answer, "no_answer")
        return
    probabilities = record.get("probabilities")
    if not isinstance(probabilities, list):
        fail(
            f"no probabilities list (got {probabilities!r}).",
            "probabilities",
            f"a {task.task_type} task needs one probability per class",
        )
    if task.task_type == "ranking":  # as many as the example has candidates: see target_tensor
        check_probabilities(probabilities, "probabilities")
        return
    rows: Iterable[Any] = [probabilities]
    if task.task_type == "sequence_labeling":
        rows = [row for row in probabilities if row is not None]
    for row in rows:
        if not isinstance(row, list) or len(row) != task.n_class:
            width = len(row) if isinstance(row, list) else row
            fail(
                f"{width} probabilities where task '{task.name}' has {task.n_class} classes "
                f"{task.labels}.",
                "probabilities",
                "make the soft targets with a teacher trained on this task's label set",
            )
        check_probabilities(row, "probabilities")


def _log(probabilities: Any) -> torch.Tensor:
    return torch.tensor(probabilities, dtype=torch.float32).clamp(min=MIN_PROBABILITY).log()


def target_tensor(
    task: TaskDefinition, record: Record, metadata: Mapping[str, Any], length: int, file: str
) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """The student's target for one instance: (target logits or score, per-piece mask or None).

    `length` is the instance's number of word pieces, or of candidates for ranking.
    """

    def mismatch(found: int, expected: int, unit: str, field: str) -> DataError:
        return DataError(
            f"example id '{record['id']}': {found} {field} values for {expected} {unit}.",
            file=file,
            line=record.get("_line"),
            task=task.name,
            field=field,
            fix="make the soft targets from the same data file the student reads",
        )

    if task.task_type == "regression":
        return torch.tensor(float(record["score"]), dtype=torch.float32), None
    if task.task_type == "classification":
        return _log(record["probabilities"]), None
    if task.task_type == "ranking":
        if len(record["probabilities"]) != length:
            raise mismatch(len(record["probabilities"]), length, "candidates", "probabilities")
        return _log(record["probabilities"]), None
    if task.task_type == "span_extraction":
        return _span_target(record, metadata, length, mismatch), None
    per_word = record["probabilities"]
    starts = metadata.get("word_starts") or []
    if len(per_word) != len(starts):
        raise mismatch(len(per_word), len(starts), "words", "probabilities")
    target = torch.zeros(length, task.n_class)
    mask = torch.zeros(length, dtype=torch.bool)
    for start, row in zip(starts, per_word, strict=True):
        if start >= 0 and row is not None:
            target[start] = _log(row)
            mask[start] = True
    return target, mask


def _span_target(
    record: Record,
    metadata: Mapping[str, Any],
    length: int,
    mismatch: Callable[[int, int, str, str], DataError],
) -> torch.Tensor:
    """A window's `(pieces, 2)` target start and end logits: the log-probability of each word
    of the window at its first piece (start) and at its last piece (end), of no answer at [CLS],
    and a masked score elsewhere. The loss's softmax over the window renormalises them, so the
    student learns the teacher's distribution restricted to the words this window holds."""
    words = context_words(metadata["context"])
    if len(record["start"]) != len(words):
        raise mismatch(len(record["start"]), len(words), "context words", "start")
    target = torch.full((length, 2), MASKED_SCORE)
    target[0] = _log(record["no_answer"])
    first: Dict[int, int] = {}
    last: Dict[int, int] = {}
    for position, word in enumerate(piece_words(metadata["offsets"], words)):
        if word is not None:
            first.setdefault(word, position)
            last[word] = position
    for word, position in first.items():
        if record["start"][word] is not None:
            target[position, 0] = _log(record["start"][word])
    for word, position in last.items():
        if record["end"][word] is not None:
            target[position, 1] = _log(record["end"][word])
    return target
