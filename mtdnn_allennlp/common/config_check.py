"""Refuses unknown keys in the sections of an experiment that this package builds.

allennlp's trainer takes `**kwargs`, so a misspelt key such as `trainer.num_epoch` is silently
dropped and the run trains with the default. `check_experiment_keys` compares the `trainer`,
`data_loader`, `validation_data_loader` and `model` sections with the parameters of the classes
their `type` names (and, where a constructor passes `**kwargs` on, its base classes'), and
stops with the closest known key.
"""

import difflib
import inspect
from typing import Any, Dict, Iterable, List, Set

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
        if name is None or name not in Registrable._registry.get(base, {}):
            continue  # allennlp reports an unknown type itself
        cls, constructor = base.resolve_class_name(name)
        keys = accepted_keys(cls, constructor)
        for key in sorted(set(values) - keys):
            problems.append(
                f"unknown key '{section}.{key}' ({section} type '{name}', {cls.__name__})."
                + did_you_mean(key, keys)
            )
    return problems


def check_experiment_keys(params: Any) -> None:
    config = params.as_dict(quiet=True) if hasattr(params, "as_dict") else dict(params)
    problems = unknown_keys(config)
    if problems:
        raise ConfigurationError(
            "\n".join(problems)
            + "\n  How to fix: correct the key in the config or the -o/--overrides JSON; "
            "allennlp would otherwise ignore it and train with the default."
        )
