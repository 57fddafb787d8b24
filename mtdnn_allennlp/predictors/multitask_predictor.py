"""Predictions from JSON lines, in input order, with label strings and probabilities.

Each line is an object with a `task` key (optional when the model has one task) and that task's
inputs: `premise` (and `hypothesis`), or `words` for tagging; an `id` is echoed back. Lines are
grouped by task for the model, since a batch holds one task, and put back in input order.
"""

from typing import Dict, List

from allennlp.common.util import JsonDict, sanitize
from allennlp.data import Instance
from allennlp.models import Model
from allennlp.predictors import Predictor

from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.data.dataset_readers.multitask import MultiTaskReader
from mtdnn_allennlp.data.dataset_readers.task_reader import INPUT_FIELDS, OPTIONAL_INPUT_FIELDS


@Predictor.register("mtdnn")
class MultiTaskPredictor(Predictor):
    """
    # Parameters

    include_input : `bool`, optional (default = `False`)
        Echo each example's input fields (`premise`, `hypothesis`, `words`, ...) as the
        output's `input`, e.g. when predicting a TSV with `--use-dataset-reader`. From the
        command line: `--predictor-args '{"include_input": true}'`.
    """

    def __init__(
        self,
        model: Model,
        dataset_reader: MultiTaskReader,
        frozen: bool = True,
        include_input: bool = False,
    ):
        super().__init__(model, dataset_reader, frozen)
        self._inputs_seen = 0
        self.include_input = include_input

    def _json_to_instance(self, json_dict: JsonDict) -> Instance:
        self._inputs_seen += 1
        where = f"input {self._inputs_seen}: "
        reader: MultiTaskReader = self._dataset_reader  # type: ignore[assignment]
        try:
            task_reader = reader.reader_for(json_dict.get("task"), where=where)
            names = INPUT_FIELDS[task_reader.task.data_format]
            missing = [name for name in names if name not in json_dict]
            if missing:
                raise DataError(
                    f"{where}no {missing[0]} for task '{task_reader.task.name}'.",
                    field=missing[0],
                    fix=f"a '{task_reader.task.data_format}' task reads the keys {list(names)}",
                )
            inputs = {name: json_dict[name] for name in names}
            optional = OPTIONAL_INPUT_FIELDS.get(task_reader.task.data_format, ())
            inputs.update((name, json_dict[name]) for name in optional if name in json_dict)
            return task_reader.text_to_instance(**inputs, id=json_dict.get("id"))
        except DataError as error:
            raise DataError(
                f"{where}{error}" if not str(error).startswith(where) else str(error)
            ) from None

    def predict_json(self, inputs: JsonDict) -> JsonDict:
        return self.predict_batch_json([inputs])[0]

    def predict_batch_json(self, inputs: List[JsonDict]) -> List[JsonDict]:
        return self.predict_batch_instance([self._json_to_instance(each) for each in inputs])

    def predict_instance(self, instance: Instance) -> JsonDict:
        return self.predict_batch_instance([instance])[0]

    def predict_batch_instance(self, instances: List[Instance]) -> List[JsonDict]:
        by_task: Dict[str, List[int]] = {}
        for position, instance in enumerate(instances):
            by_task.setdefault(instance["task"].metadata, []).append(position)  # type: ignore
        results: List[JsonDict] = [{} for _ in instances]
        for positions in by_task.values():
            outputs = self._model.forward_on_instances([instances[i] for i in positions])
            for position, output in zip(positions, outputs, strict=True):
                results[position] = output
        if self.include_input:
            for result, instance in zip(results, instances, strict=True):
                result["input"] = self._input_fields(instance)
        return sanitize(results)

    def _input_fields(self, instance: Instance) -> JsonDict:
        metadata = instance["metadata"].metadata  # type: ignore[attr-defined]
        reader: MultiTaskReader = self._dataset_reader  # type: ignore[assignment]
        data_format = reader.tasks[instance["task"].metadata].data_format  # type: ignore
        names = (*INPUT_FIELDS[data_format], *OPTIONAL_INPUT_FIELDS.get(data_format, ()))
        return {name: metadata[name] for name in names if metadata.get(name) is not None}
