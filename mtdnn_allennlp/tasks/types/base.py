"""The task type: everything that depends on what a task predicts, in one class per type.

A task definition names its type (`task_type`, a registered `TaskType`); the model, the readers,
the soft targets and the ONNX export ask that type instead of branching on its name:

- defaults: head, loss, kd_loss, adv_loss, metrics, the data formats it reads;
- `label_field`: the gold target of an example as an instance field;
- `build_metrics`, `update_metrics`: its metrics, fed from a batch's logits;
- `readable`: its human-readable predictions (`allennlp predict`);
- the soft-target form: `soft_record` (from logits), `check_soft_record`, `soft_target` (to the
  student's tensor), `soft_target_padding`, and `SoftTargetForm` for averaging teachers;
- the ONNX export: `onnx_heads`, `onnx_output`, `onnx_settings` (predict_onnx.py decodes the
  graph's output by the `task_type` in labels.json);
- the Hugging Face export: `hf_refusal`.

A data format (`DataFormat`) says which keys an example holds and builds its instance; several
types share one (classification and regression read the same pairs).

Adding a type: docs/architecture.md, "Adding a task type".
"""

import math
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    FrozenSet,
    List,
    Mapping,
    Optional,
    Tuple,
    TypedDict,
)

import torch
from allennlp.common import Registrable
from allennlp.common.checks import ConfigurationError
from allennlp.data import Instance
from allennlp.data.fields import Field, LabelField

from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.metrics import TaskMetrics

if TYPE_CHECKING:  # these modules import the task definitions, which import this one
    from mtdnn_allennlp.data.dataset_readers.task_reader import TaskReader
    from mtdnn_allennlp.tasks.task_definition import TaskDefinition

Record = Dict[str, Any]
# Raises a DataError about a soft-target record: (problem, field, fix).
Fail = Callable[[str, str, str], None]
# A DataError for a record whose length does not fit the instance: (found, expected, unit, field).
Mismatch = Callable[[int, int, str, str], DataError]

# Probabilities are clamped to this before the log, so that a class a teacher rules out entirely
# (a probability that underflowed to 0) gives a finite target logit.
MIN_PROBABILITY = 1e-12


class ExampleMetadata(TypedDict, total=False):
    """The metadata every instance carries (the `metadata` field), whatever its format."""

    id: Any  # the example's id, or its line number
    task: str
    truncated: bool  # cut to max_length; the predictor says so


# --- data formats ---------------------------------------------------------------------------


class DataFormat:
    """What an example of a data format holds (`input_fields`, read by every layout and by the
    predictor; `optional_fields`; the gold target's key `target_field`) and how it becomes an
    instance (`build`, from a `TaskReader`). `request_pieces` announces the texts that `build`
    will encode, so that a reader encodes a chunk of examples in one tokenizer call."""

    name: str = ""
    input_fields: Tuple[str, ...] = ()
    optional_fields: Tuple[str, ...] = ()
    target_field: Optional[str] = None

    def build(
        self,
        reader: "TaskReader",
        inputs: Dict[str, Any],
        target: Any,
        metadata: Dict[str, Any],
    ) -> Instance:
        raise ConfigurationError(
            f"Task '{reader.task.name}': the '{self.name}' data format is read by its own reader "
            f"({self.reader_hint}), not by {type(reader).__name__}."
        )

    reader_hint = ""

    def request_pieces(self, reader: "TaskReader", example: Mapping[str, Any]) -> None:
        """Calls `reader.pieces.request_texts` (or `request_words`) with each input that
        `build` will encode. Optional: what is not requested is encoded when it is built."""


DATA_FORMATS: Dict[str, DataFormat] = {}


def register_data_format(data_format: DataFormat) -> DataFormat:
    DATA_FORMATS[data_format.name] = data_format
    _example_keys.clear()  # a new format may read new keys
    return data_format


def data_format(name: str) -> DataFormat:
    return DATA_FORMATS[name]


_example_keys: List[FrozenSet[str]] = []  # computed once per set of registered formats


def example_keys() -> FrozenSet[str]:
    """Every key some data format reads (inputs, optional inputs and targets)."""
    if not _example_keys:
        keys = {
            key
            for each in DATA_FORMATS.values()
            for key in (*each.input_fields, *each.optional_fields, each.target_field)
            if key is not None
        }
        _example_keys.append(frozenset(keys))
    return _example_keys[0]


# --- soft targets ---------------------------------------------------------------------------


def log_probabilities(probabilities: Any) -> torch.Tensor:
    """The student's target logits: `log(p)`, so that a softmax (or a sigmoid of the log-odds)
    of them gives the teachers' probabilities back."""
    return torch.tensor(probabilities, dtype=torch.float32).clamp(min=MIN_PROBABILITY).log()


def mean_vectors(vectors: List[List[float]]) -> List[float]:
    widths = {len(vector) for vector in vectors}
    if len(widths) != 1:
        raise DataError(f"teachers disagree on the number of classes: {sorted(widths)}.")
    return [sum(column) / len(vectors) for column in zip(*vectors, strict=True)]


def average_per_word(sequences: List[List[Any]]) -> List[Any]:
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
            averaged.append(mean_vectors(present))
        else:
            averaged.append(sum(present) / len(present))
    return averaged


class SoftTargetForm:
    """The shape of a soft-target record, and how an ensemble averages records of that shape.

    Ensembling reads soft-target files without the model, so the form is recognised from the
    record itself (`holds`); each form is held by exactly one shape of record."""

    name = ""

    def holds(self, record: Record) -> bool:
        raise NotImplementedError

    def average(self, rows: List[Record]) -> Record:
        raise NotImplementedError


SOFT_TARGET_FORMS: List[SoftTargetForm] = []


def register_soft_target_form(form: SoftTargetForm) -> SoftTargetForm:
    SOFT_TARGET_FORMS.append(form)
    return form


def soft_target_form_of(record: Record) -> SoftTargetForm:
    for form in SOFT_TARGET_FORMS:
        if form.holds(record):
            return form
    raise DataError(
        f"example id '{record.get('id')}' of task '{record.get('task')}': its soft targets "
        f"have none of the known forms ({', '.join(form.name for form in SOFT_TARGET_FORMS)}).",
        fix="make soft targets with `allennlp soft-targets` (see docs/distillation.md)",
    )


def check_probabilities(values: Any, field: str, fail: Fail) -> None:
    for value in values:
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            fail(
                f"probability {value!r} is not a finite non-negative number.",
                field,
                "remake the soft targets; a teacher produced NaN or infinite outputs",
            )


def check_probability_rows(task: "TaskDefinition", rows: Any, fail: Fail) -> None:
    """Each row: one probability per class of the task."""
    for row in rows:
        if not isinstance(row, list) or len(row) != task.n_class:
            width = len(row) if isinstance(row, list) else row
            fail(
                f"{width} probabilities where task '{task.name}' has {task.n_class} classes "
                f"{task.labels}.",
                "probabilities",
                "make the soft targets with a teacher trained on this task's label set",
            )
        check_probabilities(row, "probabilities", fail)


def probabilities_of(task: "TaskDefinition", record: Record, fail: Fail) -> List[Any]:
    probabilities = record.get("probabilities")
    if not isinstance(probabilities, list):
        fail(
            f"no probabilities list (got {probabilities!r}).",
            "probabilities",
            f"a {task.task_type} task needs one probability per class",
        )
    return probabilities  # type: ignore[return-value]


# --- the task type --------------------------------------------------------------------------


class TaskType(Registrable):
    """What a task predicts. Registered by name (`task_type` in a task definition); a type
    with options is given as `{"type": NAME, option: value}` (see `TaskDefinition`).

    The class attributes are the defaults a task definition may leave out."""

    loss: str = ""
    kd_loss: str = ""
    adv_loss: str = ""
    head: str = ""
    metrics: Tuple[str, ...] = ()
    data_formats: Tuple[str, ...] = ()
    has_labels = False  # a fixed label set (classification, tagging) rather than scores
    # The soft-target form; None: the type has no soft targets (`check_distillable`).
    soft_target_form: Optional[SoftTargetForm] = None
    # The value a batch pads the type's soft targets with: a distribution over a variable number
    # of positions (candidates, pieces) must give padding no probability.
    soft_target_padding = 0.0
    # The graph output of the ONNX export has one row per word piece (dynamic length axis).
    onnx_per_piece = False
    # Why a task of this type has no transformers export (None: it has one, by its head).
    hf_refusal: Optional[str] = None
    registered_name: Optional[str] = None

    @property
    def name(self) -> str:
        """The registered name (`task_type` in labels.json, the cache key, reports)."""
        if getattr(self, "registered_name", None):
            return self.registered_name
        for name in self.list_available():
            if self.resolve_class_name(name)[0] is type(self):
                return name
        return type(self).__name__

    @classmethod
    def named(cls, spec: Any) -> "TaskType":
        """The type a task definition's `task_type` names: a registered name, or a dict with
        `type` and the type's options."""
        from allennlp.common import Params

        params = Params({"type": spec} if isinstance(spec, str) else dict(spec))
        name = params.get("type")
        if name not in cls.list_available():
            from mtdnn_allennlp.common.config_check import did_you_mean

            raise ConfigurationError(
                f"unknown task_type '{name}'.{did_you_mean(str(name), cls.list_available())} "
                f"Use one of {sorted(cls.list_available())}."
            )
        task_type = cls.from_params(params)
        task_type.registered_name = name
        return task_type

    # --- configuration ------------------------------------------------------------------

    def check_definition(self, task: "TaskDefinition") -> None:
        """Refuses settings that do not fit the type (ConfigurationError)."""
        if task.target_scale is not None:
            raise ConfigurationError(
                f"Task '{task.name}': target_scale is for regression tasks; remove it."
            )

    # --- data ---------------------------------------------------------------------------

    def label_field(self, reader: "TaskReader", label: Any) -> Field:
        """The gold target of an example whose data format reads one `label`: by default the
        index of a declared label."""
        return LabelField(
            reader._index_of(reader._label_name(label), "label"),
            label_namespace=f"{reader.task.name}_labels",
            skip_indexing=True,
        )

    def gold_value(self, task: "TaskDefinition", instance: Instance) -> Any:
        """The gold answer of a labelled instance, in the form `readable` gives it (run
        reports): by default the declared label."""
        return task.labels[instance["label"].label]  # type: ignore[attr-defined, index]

    # --- the model ----------------------------------------------------------------------

    def prepare_inputs(
        self, head: Any, token_ids: torch.Tensor, mask: torch.Tensor, label: Any
    ) -> Tuple[torch.Tensor, Any]:
        """The token ids and targets the model trains on (masked LM draws them anew)."""
        return token_ids, label

    def scores_chosen_pieces_only(self) -> bool:
        """Whether, with targets, only the pieces that have one are scored (masked LM)."""
        return False

    def build_metrics(self, task: "TaskDefinition") -> TaskMetrics:
        return TaskMetrics(task.metrics, task.n_class)

    def update_metrics(
        self,
        task: "TaskDefinition",
        head: Any,
        metrics: TaskMetrics,
        logits: torch.Tensor,
        label: torch.Tensor,
        metadata: List[Dict[str, Any]],
    ) -> None:
        raise NotImplementedError

    def readable(
        self,
        task: "TaskDefinition",
        head: Any,
        logits: torch.Tensor,
        metadata: List[Dict[str, Any]],
    ) -> Dict[str, List[Any]]:
        """A batch's predictions as the predictor writes them, one list per output key."""
        raise NotImplementedError

    # --- soft targets -------------------------------------------------------------------

    def batch_candidates(self, tensors: Mapping[str, Any]) -> Optional[torch.Tensor]:
        """What `soft_record` needs per row besides its logits (ranking: the real candidates)."""
        return None

    # An example is split into several instances (extractive QA's windows), whose records
    # `soft_target_form.average` joins into the example's.
    splits_examples = False

    def soft_record(
        self,
        task: "TaskDefinition",
        logits: torch.Tensor,
        metadata: Mapping[str, Any],
        candidates: Optional[torch.Tensor],
    ) -> Record:
        """One instance's soft targets (without task and id) from its logits."""
        raise DataError(f"no soft-target form for task type '{self.name}'.", task=task.name)

    def check_soft_record(self, task: "TaskDefinition", record: Record, fail: Fail) -> None:
        raise NotImplementedError

    def soft_target(
        self,
        task: "TaskDefinition",
        record: Record,
        metadata: Mapping[str, Any],
        length: int,
        mismatch: Mismatch,
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """The student's target for one instance: (target logits or score, per-piece mask or
        None). `length` is the instance's number of word pieces, or of candidates."""
        raise NotImplementedError

    # --- ONNX -----------------------------------------------------------------------------

    def onnx_heads(self) -> Tuple[type, ...]:
        """The head classes whose forward the ONNX exporter traces exactly (a round-trip test
        covers each); none by default."""
        return ()

    def onnx_output(self, head: Any, encoded: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The graph output of a task of this type."""
        return head(encoded, mask)

    def onnx_settings(self, task: "TaskDefinition", head: Any, task_reader: Any) -> Dict:
        """What predict_onnx.py needs besides task_type, data_format, inputs and labels."""
        return {}
