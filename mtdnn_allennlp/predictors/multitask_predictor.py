"""Predictions from JSON lines, in input order, with label strings and probabilities.

Each line is an object with a `task` key (optional when the model has one task) and that task's
inputs: `premise` (and `hypothesis`), or `words` for tagging; an `id` is echoed back. Lines are
grouped by task for the model, since a batch holds one task, and put back in input order.

Output line N is always input line N: `allennlp predict` hands this predictor every line of the
file, empty ones included, with its number (the compat fix `predict_lines`). A bad line stops
the run with the file and line named; with `skip_invalid` it gets an error record instead.
"""

import json
from typing import Dict, Iterable, Iterator, List, Optional, Union

from allennlp.common.util import JsonDict, sanitize
from allennlp.data import Instance
from allennlp.models import Model
from allennlp.predictors import Predictor

from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.compat import allennlp_internals
from mtdnn_allennlp.data.dataset_readers.multitask import MultiTaskReader
from mtdnn_allennlp.tasks.types import data_format as format_of


class InputLine(dict):
    """One input line's JSON object, with where it was read (and why it is bad, if it is)."""

    def __init__(self, values: JsonDict, file: str, line: int, error: Optional[DataError] = None):
        super().__init__(values)
        self.file, self.line, self.error = file, line, error


LINE_FIX = (
    'each line is one JSON object, e.g. {"task": "rte", "premise": "...", "hypothesis": "..."}; '
    "with --predictor-args '{\"skip_invalid\": true}' a bad line gets an error record instead"
)


@Predictor.register("mtdnn")
class MultiTaskPredictor(Predictor):
    """
    # Parameters

    include_input : `bool`, optional (default = `False`)
        Echo each example's input fields (`premise`, `hypothesis`, `words`, ...) as the
        output's `input`, e.g. when predicting a TSV with `--use-dataset-reader`. From the
        command line: `--predictor-args '{"include_input": true}'`.
    skip_invalid : `bool`, optional (default = `False`)
        Write `{"line": N, "error": "..."}` for a bad input line (invalid JSON, an empty line,
        a missing or mistyped field) and go on, instead of stopping at the first one: output
        line N stays input line N. `--predictor-args '{"skip_invalid": true}'`.
    """

    def __init__(
        self,
        model: Model,
        dataset_reader: MultiTaskReader,
        frozen: bool = True,
        include_input: bool = False,
        skip_invalid: bool = False,
    ):
        super().__init__(model, dataset_reader, frozen)
        self._inputs_seen = 0
        self.include_input = include_input
        self.skip_invalid = skip_invalid

    # --- lines ----------------------------------------------------------------------------

    def json_lines(self, file: str, lines: Iterable[str]) -> Iterator[InputLine]:
        """Every line of an input file, numbered as in the file; bad ones carry their error."""
        for number, line in enumerate(lines, start=1):
            yield self._parse_line(file, number, line)

    def _parse_line(self, file: str, number: int, line: str) -> InputLine:
        def bad(problem: str) -> InputLine:
            return InputLine(
                {}, file, number, DataError(problem, file=file, line=number, fix=LINE_FIX)
            )

        if not line.strip():
            return bad("empty line (output line N is input line N, so every line needs one).")
        try:
            values = json.loads(line.rstrip("\r\n"))
        except json.JSONDecodeError as error:
            return bad(f"not valid JSON: {error.msg} at column {error.colno}.")
        if not isinstance(values, dict):
            return bad(f"a JSON {_json_kind(values)}, not an object.")
        return InputLine(values, file, number)

    # --- instances ------------------------------------------------------------------------

    def _json_to_instance(self, json_dict: JsonDict) -> Instance:
        self._inputs_seen += 1
        if isinstance(json_dict, InputLine):
            if json_dict.error is not None:
                raise json_dict.error
            return self._located_instance(json_dict, json_dict.file, json_dict.line)
        return self._located_instance(json_dict, None, self._inputs_seen)

    def _located_instance(self, json_dict: JsonDict, file: Optional[str], line: int) -> Instance:
        reader: MultiTaskReader = allennlp_internals.predictor_reader(self)
        try:
            task_reader = reader.reader_for(json_dict.get("task"))
            names = format_of(task_reader.task.data_format).input_fields
            missing = [name for name in names if name not in json_dict]
            if missing:
                raise DataError(
                    f"no {missing[0]} for task '{task_reader.task.name}'.",
                    field=missing[0],
                    fix=f"a '{task_reader.task.data_format}' task reads the keys {list(names)}",
                )
            inputs = {name: json_dict[name] for name in names}
            optional = format_of(task_reader.task.data_format).optional_fields
            inputs.update((name, json_dict[name]) for name in optional if name in json_dict)
            return task_reader.text_to_instance(**inputs, id=json_dict.get("id"))
        except DataError as error:
            where = "" if file is not None else f"input {line}: "
            raise DataError(
                where + error.problem,
                file=file,
                line=line if file is not None else None,
                field=error.field,
                fix=error.fix,
            ) from None
        except Exception as error:  # ConfigurationError (unknown task), a wrong type
            where = "" if file is not None else f"input {line}: "
            located = line if file is not None else None
            raise DataError(f"{where}{error}", file=file, line=located, fix=LINE_FIX) from None

    # --- predictions ----------------------------------------------------------------------

    def predict_json(self, inputs: JsonDict) -> JsonDict:
        return self.predict_batch_json([inputs])[0]

    def predict_batch_json(self, inputs: List[JsonDict]) -> List[JsonDict]:
        results: List[Optional[JsonDict]] = [None] * len(inputs)
        instances: Dict[int, Instance] = {}
        for position, each in enumerate(inputs):
            try:
                instances[position] = self._json_to_instance(each)
            except DataError as error:
                if not self.skip_invalid:
                    raise
                results[position] = _error_record(each, error)
        predicted = self.predict_batch_instance(list(instances.values())) if instances else []
        for position, result in zip(instances, predicted, strict=True):
            results[position] = result
        return results  # type: ignore[return-value]

    def predict_instance(self, instance: Instance) -> JsonDict:
        return self.predict_batch_instance([instance])[0]

    def predict_batch_instance(self, instances: List[Instance]) -> List[JsonDict]:
        by_task: Dict[str, List[int]] = {}
        for position, instance in enumerate(instances):
            by_task.setdefault(instance["task"].metadata, []).append(position)  # type: ignore
        results: List[JsonDict] = [{} for _ in instances]
        for positions in by_task.values():
            outputs = allennlp_internals.predictor_model(self).forward_on_instances(
                [instances[i] for i in positions]
            )
            for position, output in zip(positions, outputs, strict=True):
                results[position] = output
        for result, instance in zip(results, instances, strict=True):
            if instance["metadata"].metadata.get("truncated"):  # type: ignore[attr-defined]
                result["truncated"] = True
            if self.include_input:
                result["input"] = self._input_fields(instance)
        return sanitize(results)

    def _input_fields(self, instance: Instance) -> JsonDict:
        metadata = instance["metadata"].metadata  # type: ignore[attr-defined]
        reader: MultiTaskReader = allennlp_internals.predictor_reader(self)
        data_format = reader.tasks[instance["task"].metadata].data_format  # type: ignore
        names = (*format_of(data_format).input_fields, *format_of(data_format).optional_fields)
        return {name: metadata[name] for name in names if metadata.get(name) is not None}


def _error_record(inputs: JsonDict, error: DataError) -> JsonDict:
    record: JsonDict = {}
    if isinstance(inputs, InputLine):
        record["line"] = inputs.line
    for key in ("task", "id"):
        if key in inputs:
            record[key] = inputs[key]
    record["error"] = error.problem if isinstance(inputs, InputLine) else str(error)
    return record


def _json_kind(value: Union[list, str, int, float, bool, None]) -> str:
    names = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return names.get(type(value), "null")
