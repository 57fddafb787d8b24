"""Names this plugin registers in allennlp's shared registries, and their deprecated aliases.

allennlp keeps one registry per base class (DatasetReader, TrainerCallback, ...) for every
plugin loaded into a process, so a generic name (``jsonl``, ``glue_tsv``) can collide with another
plugin's. The plugin's names there start with ``mtdnn_``. The names of the first release stay
registered for one more release as aliases of the same classes (archives and configs written with
them still load); using one logs a warning, once per name, and raises a DeprecationWarning.
Registries that belong to this package (task heads, losses, samplers, encoders) cannot collide
with another plugin and keep their names. See docs/registered_names.md.

``register(Base, "mtdnn_x", deprecated_name="x")`` replaces ``@Base.register("mtdnn_x")`` at the
class definition; the warning comes from one wrapper around ``Registrable.resolve_class_name``,
which allennlp calls for every ``type`` it reads.
"""

import logging
import warnings
from typing import Callable, Dict, Optional, Set, Tuple, Type, TypeVar

from allennlp.common import Registrable

logger = logging.getLogger(__name__)

T = TypeVar("T", bound=type)

PREFIX = "mtdnn_"
# (registry base class, deprecated name) -> the name to use instead
DEPRECATED_NAMES: Dict[Tuple[type, str], str] = {}
_warned: Set[Tuple[type, str]] = set()


def register(
    base: Type[Registrable], name: str, deprecated_name: Optional[str] = None
) -> Callable[[T], T]:
    """Registers the class under `name` and, for one release, under `deprecated_name`."""
    if not name.startswith(PREFIX):
        raise ValueError(f"'{name}': names in allennlp's registries start with '{PREFIX}'")

    def decorate(cls: T) -> T:
        base.register(name)(cls)
        if deprecated_name is not None:
            base.register(deprecated_name)(cls)
            DEPRECATED_NAMES[(base, deprecated_name)] = name
        return cls

    return decorate


def replacement(base: type, name: str) -> Optional[str]:
    """The new name when `name` is a deprecated alias in `base`'s registry (or a parent's)."""
    for each in getattr(base, "__mro__", ()):
        new = DEPRECATED_NAMES.get((each, name))
        if new is not None:
            return new
    return None


def warn_if_deprecated(base: type, name: str) -> None:
    new = replacement(base, name) if isinstance(name, str) else None
    if new is None:
        return
    message = (
        f"'{name}' is a deprecated name of mtdnn_allennlp's {base.__name__} '{new}' and will be "
        f"removed in the next release: write type: '{new}' in the config."
    )
    warnings.warn(message, DeprecationWarning, stacklevel=3)
    if (base, name) not in _warned:
        _warned.add((base, name))
        logger.warning(message)


_original_resolve_class_name = Registrable.resolve_class_name.__func__  # type: ignore[attr-defined]


def _resolve_class_name(cls, arg: str):
    warn_if_deprecated(cls, arg)
    return _original_resolve_class_name(cls, arg)


_resolve_class_name.wraps_for_mtdnn = True  # type: ignore[attr-defined]
if not getattr(_original_resolve_class_name, "wraps_for_mtdnn", False):
    Registrable.resolve_class_name = classmethod(_resolve_class_name)  # type: ignore[assignment]
