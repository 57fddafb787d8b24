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

import json
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.common.tqdm import Tqdm

from mtdnn_allennlp.common.atomic import atomic_file
from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.tasks import TaskDefinition, TaskType
from mtdnn_allennlp.tasks.types import soft_target_form_of
from mtdnn_allennlp.tasks.types.base import MIN_PROBABILITY  # noqa: F401  (the files' floor)
from mtdnn_allennlp.tasks.types.span_extraction import (  # noqa: F401  (kept importable here)
    average_span_records,
    context_words,
    piece_words,
)

Key = Tuple[str, str]  # (task, example id)
Record = Dict[str, Any]


def check_distillable(task: TaskDefinition) -> None:
    """Refuses, at config time, a task whose type has no soft-target form."""
    if task.kind.soft_target_form is None:
        distillable = [
            name
            for name in sorted(TaskType.list_available())
            if TaskType.by_name(name).soft_target_form is not None
        ]
        raise ConfigurationError(
            f"task '{task.name}' is of type '{task.task_type}', which has no soft targets "
            f"(types that have: {', '.join(distillable)}). Masked LM draws its inputs and "
            "targets anew for every batch; train it without soft targets, in another stage."
        )


def target_padding(task: TaskDefinition) -> float:
    """The value a batch pads a task's soft targets with."""
    return task.kind.soft_target_padding


def example_key(task: str, example_id: Any) -> Key:
    """Ids are compared as strings: a file's id column and a line number both become text."""
    return (task, str(example_id))


# --- teacher outputs -----------------------------------------------------------------------


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
        present = None if candidates is None else candidates[row]
        record.update(task.kind.soft_record(task, logits[row], meta, present))
        records.append(record)
    return records


def teacher_records(
    archive_file: str,
    data_path: Any,
    batch_size: int = 64,
    cuda_device: int = -1,
    sample_per_task: Optional[int] = None,
    sample_seed: int = 0,
    overrides: str = "",
) -> Dict[Key, Record]:
    """Runs one trained model (an archive) over data files and returns its records.

    `data_path` is what `allennlp evaluate` takes: a {task: file} mapping (or its JSON text), or
    one file for a single-task model. The archive's validation reader reads it, so every example
    is read and ids are the reader's stable example ids. With `sample_per_task`, only the seeded
    subset that a student trained with the same `sample_per_task` and `sample_seed`
    (MTDNN_TRAIN_EXAMPLES and MTDNN_SEED) reads: no teacher passes over examples it never uses.
    `overrides` (JSON, as `allennlp evaluate -o`) changes the archived config before loading,
    e.g. a task reader's columns, where the teacher was trained with a reader since corrected.
    """
    from allennlp.data import Batch
    from allennlp.models.archival import load_archive
    from allennlp.nn.util import move_to_device

    archive = load_archive(archive_file, cuda_device=cuda_device, overrides=overrides)
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
        # An example read as several instances (extractive QA: a question's windows).
        windows: Dict[Key, List[Record]] = {}
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
            candidates = task.kind.batch_candidates(tensors)
            for record in records_from_logits(
                task, output["logits"], tensors["metadata"], candidates
            ):
                key = example_key(task_name, record["id"])
                if task.kind.splits_examples:
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
            records[key] = task.kind.soft_target_form.average(parts)
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
        # Soft-target files carry no task types: the record's own form says how to average.
        averaged[key] = soft_target_form_of(record).average(rows)
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

    task.kind.check_soft_record(task, record, fail)


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

    return task.kind.soft_target(task, record, metadata, length, mismatch)
