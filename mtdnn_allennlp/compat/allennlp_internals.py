"""Every read or write of a private allennlp attribute that the package needs, in one place.

allennlp 2.10.1 is the last release, so its private names will not move under us; but a reader
of the package should see at a glance which of allennlp's internals it leans on, and a port to
another allennlp (or away from it) has one file to go through. Each function names the
allennlp 2.10.1 file and line of the attribute it touches. Outside `mtdnn_allennlp/compat/`,
no code reads or writes a private allennlp attribute directly:
`tests/compat/test_allennlp_internals.py` greps the package, benchmarks/ and scripts/ for it.

Not imported at interpreter start (unlike `bootstrap` and `fixes`): it may import allennlp.
"""

from types import SimpleNamespace
from typing import Any, Callable, Dict, List, Optional

# --- the trainer (allennlp/training/gradient_descent_trainer.py) -----------------------------


def gradient_accumulation_steps(trainer: Any) -> int:
    """The trainer's `num_gradient_accumulation_steps`.
    gradient_descent_trainer.py:313 `self._num_gradient_accumulation_steps = ...`"""
    return trainer._num_gradient_accumulation_steps


def batches_in_epoch_completed(trainer: Any) -> int:
    """Batches of the current epoch the trainer has finished (reset to 0 at each epoch).
    gradient_descent_trainer.py:340 (set), :558 (counted), :803 and :880 (reset)"""
    return trainer._batches_in_epoch_completed


def total_batches_completed(trainer: Any) -> int:
    """Batches finished since the run started, restored by --recover.
    gradient_descent_trainer.py:347 (set), :482 and :558 (counted)"""
    return trainer._total_batches_completed


def uses_amp(trainer: Any) -> bool:
    """Whether the trainer runs under `use_amp` (float16 autocast). A trainer stand-in without
    the attribute (a benchmark's) counts as no AMP.
    gradient_descent_trainer.py:327 `self._use_amp = use_amp`"""
    return bool(getattr(trainer, "_use_amp", False))


def grad_scaler(trainer: Any) -> Optional[Any]:
    """The trainer's AMP GradScaler (None without AMP or without grad scaling).
    gradient_descent_trainer.py:326 (None), :333 and :335 (a GradScaler)"""
    return getattr(trainer, "_scaler", None)


def trainer_callbacks(trainer: Any) -> List[Any]:
    """The trainer's callbacks, for a benchmark that drives epochs itself.
    gradient_descent_trainer.py:301 `self._callbacks = callbacks or []`"""
    return trainer._callbacks


def train_one_epoch(trainer: Any, epoch: int) -> Dict[str, float]:
    """One training epoch, without validation, checkpoints or the epoch callbacks.
    gradient_descent_trainer.py:423 `def _train_epoch(self, epoch)`"""
    return trainer._train_epoch(epoch)


def trainer_stand_in(model: Any, data_loader: Any, **public: Any) -> SimpleNamespace:
    """A stand-in trainer for code that reads the attributes above outside a training run (a
    step-time benchmark): one batch per group, no AMP, nothing completed yet. The attributes
    are those of gradient_descent_trainer.py:313, :326, :327, :340 and :347."""
    return SimpleNamespace(
        model=model,
        data_loader=data_loader,
        _num_gradient_accumulation_steps=1,  # gradient_descent_trainer.py:313
        _batches_in_epoch_completed=0,  # :340
        _total_batches_completed=0,  # :347
        _scaler=None,  # :326
        _use_amp=False,  # :327
        **public,
    )


# --- dataset readers (allennlp/data/dataset_readers/dataset_reader.py) -----------------------


def clear_distributed_info(reader: Any) -> None:
    """Makes the reader's `get_distributed_info()` answer None (no distributed run), as for a
    reader that reads whole files whatever the rank.
    dataset_reader.py:287 `def _set_distributed_info(self, info)` ("should only be used
    internally"), set from torch.distributed at :186, read by `get_distributed_info` at :279"""
    reader._set_distributed_info(None)


# --- predictors (allennlp/predictors/predictor.py) --------------------------------------------


def predictor_model(predictor: Any) -> Any:
    """The model a Predictor was built with. predictor.py:34 `self._model = model`"""
    return predictor._model


def predictor_reader(predictor: Any) -> Any:
    """The dataset reader a Predictor was built with.
    predictor.py:35 `self._dataset_reader = dataset_reader`"""
    return predictor._dataset_reader


# --- fields (allennlp/data/fields/label_field.py) --------------------------------------------


def label_field_settings(field: Any) -> Dict[str, Any]:
    """A LabelField's constructor settings, which it keeps private, to build it again.
    label_field.py:52 `self._label_namespace`, :55 `self._skip_indexing`"""
    return {"label_namespace": field._label_namespace, "skip_indexing": field._skip_indexing}


# --- jsonnet external variables (allennlp/common/params.py) ----------------------------------


def params_environment_function() -> Callable[[], Dict[str, str]]:
    """The function allennlp's Params calls for jsonnet's external variables.
    params.py:89 `def _environment_variables()`, called at :148 and :460"""
    import allennlp.common.params as params

    return params._environment_variables


def set_params_environment_function(function: Callable[[], Dict[str, str]]) -> None:
    """Makes allennlp's Params read jsonnet's external variables from `function` instead (both
    call sites, params.py:148 and :460, look the name up in the module at call time)."""
    import allennlp.common.params as params

    if params._environment_variables is not function:
        params._environment_variables = function
