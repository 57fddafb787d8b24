"""The fixes that let AllenNLP 2.10.1 run on Python 3.11, torch >= 2.1 and transformers 4.4x-4.5x.

Each fix is one small function registered with ``@fix(...)``: the allennlp module it targets,
whether it runs just before or just after that module executes, and a ``needed`` test so that it
does nothing where its problem is absent. The measured failures behind each one are listed in
``docs/compatibility.md``. Nothing here may import torch or allennlp at module level: this file
is loaded by the import hook as soon as the first watched module is imported.
"""

import importlib.abc
import importlib.machinery
import importlib.util
import logging
import sys
import types
from dataclasses import dataclass
from typing import Callable, Dict, List, Tuple

logger = logging.getLogger(__name__)


@dataclass
class Fix:
    name: str
    modules: Tuple[str, ...]
    when: str  # "before" or "after" the module's own code runs
    needed: Callable[[], bool]
    apply: Callable[[types.ModuleType], None]

    @property
    def description(self) -> str:
        return (self.apply.__doc__ or "").strip().splitlines()[0]


FIXES: List[Fix] = []
APPLIED: Dict[str, List[str]] = {}  # fix name -> modules it was applied to, for diagnostics


def fix(name: str, modules: Tuple[str, ...], when: str, needed: Callable[[], bool]):
    def register(apply: Callable[[types.ModuleType], None]):
        FIXES.append(Fix(name, modules, when, needed, apply))
        return apply

    return register


def watched_modules() -> Dict[str, List[str]]:
    watched: Dict[str, List[str]] = {}
    for each in FIXES:
        for module in each.modules:
            watched.setdefault(module, []).append(each.name)
    return watched


def run(module_name: str, when: str, module: types.ModuleType) -> None:
    for each in FIXES:
        if module_name in each.modules and each.when == when and each.needed():
            each.apply(module)
            APPLIED.setdefault(each.name, []).append(module_name)
            logger.debug("compat fix %s applied to %s", each.name, module_name)


def _version(package: str) -> Tuple[int, ...]:
    from importlib.metadata import version

    from mtdnn_allennlp.compat.check import _parse

    return _parse(version(package))


# --- stack check ------------------------------------------------------------------------------


def _stack_is_unsupported() -> bool:
    from mtdnn_allennlp.compat.check import stack_problems

    return bool(stack_problems())


@fix("stack_check", ("allennlp",), "before", _stack_is_unsupported)
def refuse_unsupported_stack(module: types.ModuleType) -> None:
    """Stops with one message that says what to install when the stack cannot work."""
    from mtdnn_allennlp.compat.check import UnsupportedStackError, stack_message, stack_problems

    message = stack_message(stack_problems())
    if sys.argv and sys.argv[0].endswith("allennlp"):
        # The console script: one clear message, no traceback.
        sys.stderr.write(message + "\n")
        raise SystemExit(2)
    raise UnsupportedStackError(message)


# --- 1. torchvision ---------------------------------------------------------------------------

_TORCHVISION_HELP = (
    "torchvision is not usable here ({reason}). AllenNLP imports it at start-up for its vision "
    "models only, so mtdnn_allennlp stands in a placeholder. To use allennlp's vision models, "
    "install a matching pair, e.g. `pip install torch==2.14.1 torchvision==0.29.1`."
)
_torchvision_problem: List[str] = []


def _torchvision_unusable() -> bool:
    if "torchvision" in sys.modules:
        return isinstance(sys.modules["torchvision"], _TorchvisionPlaceholder)
    if importlib.util.find_spec("torchvision") is None:
        _torchvision_problem[:] = ["it is not installed"]
        return True
    try:
        import torchvision  # noqa: F401
    except Exception as error:  # e.g. "operator torchvision::nms does not exist"
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
        _torchvision_problem[:] = [f"importing it fails: {error}"]
        return True
    return False


class _TorchvisionPlaceholder(types.ModuleType):
    """Lets ``import torchvision...`` succeed; any real use raises an ImportError that says why."""

    def __getattr__(self, attribute: str):
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        reason = _torchvision_problem[0] if _torchvision_problem else "unknown reason"
        raise ImportError(
            f"{self.__name__}.{attribute}: " + _TORCHVISION_HELP.format(reason=reason)
        )


class _TorchvisionPlaceholderFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname == "torchvision" or fullname.startswith("torchvision."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _TorchvisionPlaceholder(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        pass


@fix(
    "torchvision_placeholder",
    (
        "allennlp.data.image_loader",
        "allennlp.modules.vision.grid_embedder",
        "allennlp.modules.vision.region_detector",
    ),
    "before",
    _torchvision_unusable,
)
def stand_in_for_torchvision(module: types.ModuleType) -> None:
    """Stands in a placeholder torchvision, which allennlp imports at start-up for vision only."""
    if not any(isinstance(f, _TorchvisionPlaceholderFinder) for f in sys.meta_path):
        # In front of the path finders: an installed but broken torchvision (e.g. one built for
        # another torch) must not be found again and fail the same way.
        sys.meta_path.insert(0, _TorchvisionPlaceholderFinder())
    _tell_transformers_torchvision_is_unavailable()


def _tell_transformers_torchvision_is_unavailable() -> None:
    """transformers 5 imports torchvision.transforms at start-up (image_utils, reached from
    modeling_utils) whenever `find_spec("torchvision")` finds one, which the placeholder answers.
    Its availability check is told the truth, so it leaves torchvision alone, as 4.57 did."""
    try:
        import transformers.utils as utils
        from transformers.utils import import_utils
    except ImportError:
        return
    for module in (utils, import_utils):
        if hasattr(module, "is_torchvision_available"):
            module.is_torchvision_available = _torchvision_is_unavailable


def _torchvision_is_unavailable() -> bool:
    return False


# --- 3. transformers.AdamW --------------------------------------------------------------------


def _transformers_lacks_adamw() -> bool:
    import transformers

    try:
        adamw = transformers.AdamW
    except (AttributeError, ImportError):
        return True
    # Once provide_transformers_adamw has run, the class found is the shim: still needed.
    return getattr(adamw, "__module__", None) == "mtdnn_allennlp.compat.adamw"


@fix("transformers_adamw", ("allennlp.training.optimizers",), "before", _transformers_lacks_adamw)
def provide_transformers_adamw(module: types.ModuleType) -> None:
    """Gives transformers back the AdamW class that allennlp's huggingface_adamw subclasses."""
    import transformers

    from mtdnn_allennlp.compat.adamw import HuggingfaceAdamW

    # Set on the module object allennlp is about to import; transformers swaps its lazy module
    # in sys.modules on some sub-imports, so setting it any earlier may not last.
    transformers.AdamW = HuggingfaceAdamW


# --- 4. tokenizer add_special_tokens ----------------------------------------------------------


def _transformers_rejects_add_special_tokens() -> bool:
    # Measured: 4.43.4 accepts the argument in from_pretrained, 4.44 and later reject it.
    return _version("transformers") >= (4, 44)


@fix(
    "tokenizer_add_special_tokens",
    ("allennlp.common.cached_transformers",),
    "after",
    _transformers_rejects_add_special_tokens,
)
def drop_add_special_tokens_from_from_pretrained(module: types.ModuleType) -> None:
    """Stops passing add_special_tokens to AutoTokenizer.from_pretrained, which now rejects it."""
    original = module.get_tokenizer

    def get_tokenizer(model_name: str, **kwargs):
        # allennlp passes the flag again to every encode call, so from_pretrained never needed it.
        kwargs.pop("add_special_tokens", None)
        return original(model_name, **kwargs)

    get_tokenizer.__doc__ = original.__doc__
    get_tokenizer.__wrapped__ = original  # type: ignore[attr-defined]
    module.get_tokenizer = get_tokenizer


# --- 8. torch.load(weights_only=True) on --recover ---------------------------------------------


def _torch_load_defaults_to_weights_only() -> bool:
    return _version("torch") >= (2, 6)


@fix(
    "torch_load_numpy_scalars",
    ("allennlp.training.checkpointer",),
    "after",
    _torch_load_defaults_to_weights_only,
)
def allow_numpy_scalars_in_checkpoints(module: types.ModuleType) -> None:
    """Lets torch.load's weights_only mode read the numpy scalars in allennlp's training state."""
    import numpy
    import torch

    # Metric values (numpy floats) land in the metric tracker's state. Allow-listing numpy's
    # scalar and dtype types keeps weights_only's protection against arbitrary code, which
    # turning weights_only off would not.
    core = getattr(numpy, "_core", None) or numpy.core  # numpy 2 renamed core to _core
    scalar_reconstruct = core.multiarray.scalar  # type: ignore[attr-defined]
    dtype_classes = [
        type(numpy.dtype(kind))
        for kind in ("bool", "int8", "int16", "int32", "int64", "uint8", "float16")
        + ("float32", "float64")
    ]
    torch.serialization.add_safe_globals([scalar_reconstruct, numpy.dtype, *dtype_classes])


# --- 9. torch.cuda.amp deprecations -----------------------------------------------------------


def _torch_has_device_generic_amp() -> bool:
    import torch

    return hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler")


class _DeviceGenericAmp:
    """The two names allennlp's trainer uses from ``torch.cuda.amp``, via ``torch.amp``."""

    @staticmethod
    def autocast(enabled: bool = True):
        import contextlib

        import torch

        if not enabled:
            return contextlib.nullcontext()
        return torch.amp.autocast("cuda", enabled=True)

    @staticmethod
    def GradScaler(*args, **kwargs):  # noqa: N802 - mirrors the torch name it replaces
        import torch

        return torch.amp.GradScaler("cuda", *args, **kwargs)


@fix(
    "torch_cuda_amp",
    ("allennlp.training.gradient_descent_trainer",),
    "after",
    _torch_has_device_generic_amp,
)
def use_device_generic_amp(module: types.ModuleType) -> None:
    """Routes the trainer's torch.cuda.amp calls (deprecated, warn every batch) to torch.amp."""
    module.amp = _DeviceGenericAmp


# --- 10. torch.testing.assert_allclose --------------------------------------------------------


def _torch_has_assert_close() -> bool:
    import torch.testing

    return hasattr(torch.testing, "assert_close")


def _assert_allclose(actual, expected, rtol=None, atol=None, equal_nan=True, msg="") -> None:
    import torch

    actual = torch.as_tensor(actual)
    expected = torch.as_tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        # The deprecated function's own defaults, looser than assert_close's (float32: 1.3e-6).
        defaults = {torch.float16: (1e-3, 1e-3), torch.float32: (1e-4, 1e-5)}
        defaults[torch.float64] = (1e-5, 1e-8)
        rtol, atol = defaults.get(actual.dtype, (0.0, 0.0))
    torch.testing.assert_close(
        actual,
        expected,
        rtol=rtol,
        atol=atol,
        equal_nan=equal_nan,
        check_dtype=False,
        check_stride=False,
        msg=msg or None,
    )


@fix("testing_assert_allclose", ("allennlp.common.testing",), "after", _torch_has_assert_close)
def use_assert_close_in_testing(module: types.ModuleType) -> None:
    """Replaces the deprecated torch.testing.assert_allclose in allennlp's test helpers."""
    module.assert_allclose = _assert_allclose


# --- 13. huggingface_hub 1.x (with transformers 5) ----------------------------------------------
# transformers 5 needs huggingface_hub >= 1.0, which removed HfFolder and Repository (the git
# based upload). allennlp imports both at start-up in allennlp.common.push_to_hf, for the
# push-to-hf command only, so on that stack every allennlp command failed with an ImportError.

HUB_REMOVED = ("HfFolder", "Repository")


def _hub_lacks_removed_classes() -> bool:
    import huggingface_hub

    # Once stand_in_for_removed_hub_classes has run, the classes found are stand-ins: needed.
    return any(
        getattr(getattr(huggingface_hub, name, None), "__module__", __name__) == __name__
        for name in HUB_REMOVED
    )


def _removed_from_hub(name: str) -> type:
    """A stand-in for a class huggingface_hub removed: any use raises an ImportError that says
    what to install instead of failing at allennlp's start-up."""
    message = (
        f"huggingface_hub.{name} was removed in huggingface_hub 1.0; allennlp's push-to-hf needs "
        "huggingface_hub<1 (the locked transformers 4.57 stack: requirements/lock.txt)."
    )

    class Removed(type):
        def __getattr__(cls, attribute: str):
            if attribute.startswith("__"):
                raise AttributeError(attribute)
            raise ImportError(message)

    def refuse(self, *args, **kwargs):
        raise ImportError(message)

    return Removed(name, (), {"__init__": refuse, "__module__": __name__, "__doc__": message})


@fix("huggingface_hub_v1", ("allennlp.common.push_to_hf",), "before", _hub_lacks_removed_classes)
def stand_in_for_removed_hub_classes(module: types.ModuleType) -> None:
    """Stands in HfFolder and Repository (gone in huggingface_hub 1.x) for allennlp's push-to-hf."""
    import huggingface_hub

    for name in HUB_REMOVED:
        if not hasattr(huggingface_hub, name):
            setattr(huggingface_hub, name, _removed_from_hub(name))


# --- 14. tokenizer.encode_plus (transformers 5) -------------------------------------------------


def _tokenizers_lack_encode_plus() -> bool:
    from transformers import PreTrainedTokenizerBase

    return (
        not hasattr(PreTrainedTokenizerBase, "encode_plus")
        or getattr(PreTrainedTokenizerBase.encode_plus, "__module__", None) == __name__
    )


def _encode_plus(self, text, text_pair=None, **kwargs):
    """`tokenizer(text, text_pair, ...)`: what encode_plus did for one text (or pair)."""
    return self(text, text_pair, **kwargs)


@fix(
    "tokenizer_encode_plus",
    ("allennlp.data.tokenizers.pretrained_transformer_tokenizer",),
    "before",
    _tokenizers_lack_encode_plus,
)
def provide_encode_plus(module: types.ModuleType) -> None:
    """Gives tokenizers back encode_plus (gone in transformers 5), which allennlp's
    PretrainedTransformerTokenizer calls; it is the tokenizer's __call__ for one text."""
    from transformers import PreTrainedTokenizerBase

    PreTrainedTokenizerBase.encode_plus = _encode_plus


# The project's policy fixes (not stack problems) live in their own module, registered here so
# that the hook and `check` see every fix through FIXES. Imported last: it uses `fix` above.
from mtdnn_allennlp.compat import policies  # noqa: E402,F401
