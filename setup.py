"""Build script: everything declarative is in setup.cfg; this file ships the .pth hook and the
jsonnet configs.

The configs stay in the source tree's ``training_config/`` (where they are edited); a wheel gets
a copy as ``mtdnn_allennlp/configs/``, which ``mtdnn_allennlp.common.configs`` finds, so that
``allennlp train mtdnn://glue/rte.jsonnet`` and ``import 'mtdnn/tasks.libsonnet'`` work without a
checkout. An editable install reads the checkout's folder directly.

AllenNLP 2.10.1 breaks at *import time* on today's torch and transformers, and the stock
``allennlp`` console script imports all of allennlp before it reads ``--include-package``. So the
fixes in ``mtdnn_allennlp.compat`` must be armed before any code runs, which is exactly what a
``.pth`` file in site-packages does. The hook is cheap: it installs an import finder and imports
nothing heavy (see ``mtdnn_allennlp/compat/bootstrap.py``).

The .pth goes into regular wheels through ``build_py`` and into editable installs (``pip install
-e .``) through a wrapper around setuptools' editable strategy, which otherwise writes only its
own ``__editable__`` files.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

PTH_NAME = "mtdnn_allennlp_compat.pth"
CONFIGS = Path("training_config")
CONFIG_PATTERNS = ("*.jsonnet", "*.libsonnet")
PACKAGED_CONFIGS = Path("mtdnn_allennlp") / "configs"
# A .pth line that starts with "import" is executed at interpreter start. Setting
# MTDNN_ALLENNLP_NO_COMPAT=1 disarms the hook (used by the tests to show each fix is needed).
PTH_LINE = (
    "import os, importlib.util; "
    "os.environ.get('MTDNN_ALLENNLP_NO_COMPAT') or "
    "importlib.util.find_spec('mtdnn_allennlp') is None or "
    "__import__('mtdnn_allennlp.compat.bootstrap').compat.bootstrap.install()\n"
)


def config_files():
    """The shipped configs, relative to training_config/."""
    return sorted(
        path.relative_to(CONFIGS) for pattern in CONFIG_PATTERNS for path in CONFIGS.rglob(pattern)
    )


class BuildPyWithHook(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib) / PTH_NAME
        target.write_text(PTH_LINE)
        for relative in config_files():
            copy = Path(self.build_lib) / PACKAGED_CONFIGS / relative
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes((CONFIGS / relative).read_bytes())

    def get_outputs(self, include_bytecode=1):
        configs = [str(Path(self.build_lib) / PACKAGED_CONFIGS / each) for each in config_files()]
        return (
            super().get_outputs(include_bytecode) + [str(Path(self.build_lib) / PTH_NAME)] + configs
        )


class _StrategyWithHook:
    """Delegates to setuptools' editable strategy, then adds the .pth to the editable wheel."""

    def __init__(self, strategy):
        self._strategy = strategy

    def __call__(self, wheel, files, mapping):
        self._strategy(wheel, files, mapping)
        wheel.writestr(PTH_NAME, PTH_LINE)

    def __enter__(self):
        self._strategy.__enter__()
        return self

    def __exit__(self, *exc_info):
        return self._strategy.__exit__(*exc_info)


class EditableWheelWithHook(editable_wheel):
    def _select_strategy(self, *args, **kwargs):
        return _StrategyWithHook(super()._select_strategy(*args, **kwargs))


setup(cmdclass={"build_py": BuildPyWithHook, "editable_wheel": EditableWheelWithHook})
