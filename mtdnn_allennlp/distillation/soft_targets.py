"""Soft targets: what teachers predict for each training example, keyed by (task, example id).

A soft-target file is JSON lines, one example per line:

- classification: ``{"task": "rte", "id": "7", "probabilities": [0.91, 0.09]}``, the softmax
  of the teacher's logits, in the order of the task's labels;
- regression: ``{"task": "stsb", "id": "7", "score": 3.2}``, the teacher's predicted score;
- sequence labelling: ``{"task": "conll2003", "id": "12", "probabilities": [[...], null, ...]}``,
  one distribution per word, read at the word's first word piece (``null`` for a word that
  truncation left without a piece). Per word rather than per piece, so that teachers and students
  with different tokenizers can share a file.

An ensemble of teachers averages, per example, the probabilities (element-wise, per word for
tagging) or the scores. The student reads ``log(probabilities)`` as its target logits, so a
``kl_divergence`` kd_loss with temperature T compares ``softmax(student_logits / T)`` with
``softmax(log(p) / T)``, which for one teacher is exactly ``softmax(teacher_logits / T)``.
"""

import json
import math
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

import torch

from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.tasks import TaskDefinition

# Probabilities are clamped to this before the log, so that a class a teacher rules out entirely
# (a probability that underflowed to 0) gives a finite target logit.
MIN_PROBABILITY = 1e-12

Key = Tuple[str, str]  # (task, example id)
Record = Dict[str, Any]


def example_key(task: str, example_id: Any) -> Key:
    """Ids are compared as strings: a file's id column and a line number both become text."""
    return (task, str(example_id))


# --- teacher outputs -----------------------------------------------------------------------


def records_from_logits(
    task: TaskDefinition, logits: torch.Tensor, metadata: List[Dict[str, Any]]
) -> List[Record]:
    """One record per example of a batch of one task, from the model's raw outputs."""
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

    archive = load_archive(archive_file, cuda_device=cuda_device)
    model = archive.model
    model.eval()
    reader = archive.validation_dataset_reader
    if sample_per_task is not None:
        for task_reader in reader.readers.values():
            task_reader.sample_size = sample_per_task
            task_reader.sample_seed = sample_seed
    records: Dict[Key, Record] = {}
    for task_name, path in reader.task_paths(data_path).items():
        task = model.tasks[task_name]
        instances = list(reader.read_task(task_name, path))
        for start in range(0, len(instances), batch_size):
            chunk = instances[start : start + batch_size]
            batch = Batch(chunk)
            batch.index_instances(model.vocab)
            tensors = batch.as_tensor_dict()
            tensors.pop("label", None)
            with torch.no_grad():
                output = model(**tensors)
            for record in records_from_logits(task, output["logits"], tensors["metadata"]):
                key = example_key(task_name, record["id"])
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
    for key, record in first.items():
        rows = [records[key] for records in teachers]
        merged: Record = {"task": record["task"], "id": record["id"]}
        if "score" in record:
            merged["score"] = sum(row["score"] for row in rows) / len(rows)
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
        for key, record in records.items():
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


def _average_per_word(sequences: List[List[Optional[List[float]]]]) -> List[Optional[List[float]]]:
    lengths = {len(sequence) for sequence in sequences}
    if len(lengths) != 1:
        raise DataError(f"teachers disagree on the number of words: {sorted(lengths)}.")
    averaged: List[Optional[List[float]]] = []
    for per_teacher in zip(*sequences, strict=True):
        # A teacher whose tokenizer truncated a word has no distribution for it; the others'
        # are averaged. A word no teacher reached stays null.
        present = [each for each in per_teacher if each is not None]
        averaged.append(_mean_vectors(present) if present else None)
    return averaged


# --- files ---------------------------------------------------------------------------------


def write_records(records: Mapping[Key, Record], path: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
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
    with open(file, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
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

    if task.task_type == "regression":
        score = record.get("score")
        if not isinstance(score, (int, float)) or isinstance(score, bool):
            fail(f"score is {score!r}, not a number.", "score", "give the teacher's score")
        if not math.isfinite(score):
            fail(f"score is {score}.", "score", "remake the soft targets; a teacher diverged")
        return
    probabilities = record.get("probabilities")
    if not isinstance(probabilities, list):
        fail(
            f"no probabilities list (got {probabilities!r}).",
            "probabilities",
            f"a {task.task_type} task needs one probability per class",
        )
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
        for value in row:
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                fail(
                    f"probability {value!r} is not a finite non-negative number.",
                    "probabilities",
                    "remake the soft targets; a teacher produced NaN or infinite outputs",
                )


def target_tensor(
    task: TaskDefinition, record: Record, word_starts: Optional[List[int]], length: int, file: str
) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """The student's target for one example: (target logits or score, per-piece mask or None)."""
    if task.task_type == "regression":
        return torch.tensor(float(record["score"]), dtype=torch.float32), None
    if task.task_type == "classification":
        probabilities = torch.tensor(record["probabilities"], dtype=torch.float32)
        return probabilities.clamp(min=MIN_PROBABILITY).log(), None
    per_word = record["probabilities"]
    starts = word_starts or []
    if len(per_word) != len(starts):
        raise DataError(
            f"example id '{record['id']}': {len(per_word)} word distributions for "
            f"{len(starts)} words.",
            file=file,
            line=record.get("_line"),
            task=task.name,
            field="probabilities",
            fix="make the soft targets from the same data file the student reads",
        )
    target = torch.zeros(length, task.n_class)
    mask = torch.zeros(length, dtype=torch.bool)
    for start, row in zip(starts, per_word, strict=True):
        if start >= 0 and row is not None:
            target[start] = torch.tensor(row).clamp(min=MIN_PROBABILITY).log()
            mask[start] = True
    return target, mask
