"""Refuses unknown keys in the sections of an experiment that this package builds.

allennlp's trainer takes `**kwargs`, so a misspelt key such as `trainer.num_epoch` is silently
dropped and the run trains with the default. `check_experiment_keys` compares the `trainer`,
`data_loader`, `validation_data_loader` and `model` sections with the parameters of the classes
their `type` names (and, where a constructor passes `**kwargs` on, its base classes'), and
stops with the closest known key. A number given as a string (`"lr": "fast"`, `"num_epochs":
"3"`), in those sections or in a registered object inside them (the optimizer, the learning-rate
scheduler), is refused too, naming its key: allennlp would fail later on an unrelated sum.
"""

import difflib
import inspect
import typing
from typing import Any, Dict, Iterable, List, Optional, Set

from allennlp.common import Registrable
from allennlp.common.checks import ConfigurationError

# section: (base class's module and name, default type)
SECTIONS = {
    "trainer": ("allennlp.training.trainer", "Trainer", "gradient_descent"),
    "data_loader": ("allennlp.data.data_loaders", "DataLoader", "multiprocess"),
    "validation_data_loader": ("allennlp.data.data_loaders", "DataLoader", "multiprocess"),
    "model": ("allennlp.models", "Model", None),
}


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


def accepted_keys(cls: type, constructor: str) -> Set[str]:
    """The keys a registered class reads from its params: its constructor's parameters, and
    when that constructor passes **kwargs on, those of every class it inherits from."""
    keys: Set[str] = {"type"}
    functions = [getattr(cls, constructor or "__init__")]
    if _takes_var_keywords(functions[0]):
        functions += [klass.__init__ for klass in cls.__mro__ if "__init__" in vars(klass)]
    for function in functions:
        for parameter in inspect.signature(function).parameters.values():
            if parameter.kind not in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
                keys.add(parameter.name)
    keys.discard("self")
    return keys


def _takes_var_keywords(function: Any) -> bool:
    parameters = inspect.signature(function).parameters.values()
    return any(parameter.kind == parameter.VAR_KEYWORD for parameter in parameters)


def unknown_keys(config: Dict[str, Any]) -> List[str]:
    """One message per unknown key of the checked sections, each with the closest known key."""
    import importlib

    problems = []
    for section, (module_name, base_name, default_type) in SECTIONS.items():
        values = config.get(section)
        if not isinstance(values, dict):
            continue
        base = getattr(importlib.import_module(module_name), base_name)
        name = values.get("type", default_type or base.default_implementation)
        if name is None or name not in base.list_available():
            continue  # allennlp reports an unknown type itself
        cls, constructor = base.resolve_class_name(name)
        keys = accepted_keys(cls, constructor)
        for key in sorted(set(values) - keys):
            problems.append(
                f"unknown key '{section}.{key}' ({section} type '{name}', {cls.__name__})."
                + did_you_mean(key, keys)
            )
    return problems


NUMBERS = (int, float)


def _unwrapped(annotation: Any) -> List[Any]:
    """The types an annotation admits: Optional/Union members, and T of allennlp's Lazy[T]."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union:
        return [each for arg in typing.get_args(annotation) for each in _unwrapped(arg)]
    if origin is not None and getattr(origin, "__name__", "") == "Lazy":
        return _unwrapped(typing.get_args(annotation)[0])
    return [annotation]


def _class_of(base: Any, values: Dict[str, Any]) -> Optional[tuple]:
    name = values.get("type", getattr(base, "default_implementation", None))
    if name is None or name not in base.list_available():
        return None
    return base.resolve_class_name(name)


def wrong_types(path: str, values: Dict[str, Any], cls: type, constructor: str) -> List[str]:
    """One message per number written as a string, in `values` and the registered objects in
    it (e.g. `trainer.optimizer.lr`)."""
    problems = []
    parameters = inspect.signature(getattr(cls, constructor or "__init__")).parameters
    for key, value in values.items():
        parameter = parameters.get(key)
        if parameter is None:
            continue
        admitted = _unwrapped(parameter.annotation)
        if isinstance(value, str) and any(kind in NUMBERS for kind in admitted):
            if not any(kind is str for kind in admitted):
                problems.append(
                    f"'{path}.{key}' is the string {value!r}; it takes a number "
                    f"({' or '.join(k.__name__ for k in admitted if k in NUMBERS)})."
                )
        elif isinstance(value, dict):
            for kind in admitted:
                if inspect.isclass(kind) and issubclass(kind, Registrable):
                    found = _class_of(kind, value)
                    if found is not None:
                        problems += wrong_types(f"{path}.{key}", value, *found)
                    break
    return problems


def number_problems(config: Dict[str, Any]) -> List[str]:
    import importlib

    problems = []
    for section, (module_name, base_name, default_type) in SECTIONS.items():
        values = config.get(section)
        if not isinstance(values, dict):
            continue
        base = getattr(importlib.import_module(module_name), base_name)
        found = _class_of(base, dict(values, type=values.get("type", default_type)))
        if found is not None:
            problems += wrong_types(section, values, *found)
    return problems


def check_experiment_keys(params: Any) -> None:
    config = params.as_dict(quiet=True) if hasattr(params, "as_dict") else dict(params)
    problems = unknown_keys(config)
    problems += number_problems(config)
    if problems:
        raise ConfigurationError(
            "\n".join(problems)
            + "\n  How to fix: correct the key or value in the config or the -o/--overrides "
            "JSON (numbers are written without quotes); allennlp would otherwise ignore an "
            "unknown key and train with the default, or fail later on the value."
        )
