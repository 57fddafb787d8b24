"""allennlp subcommands of the plugin: `soft-targets`, `ensemble-soft-targets`, `export-onnx`.

allennlp builds its command line before `--include-package` is read, so plugin subcommands must
be registered by a plugin module that it imports itself: the repository's `.allennlp_plugins`
lists this package. From another folder, run `python -m mtdnn_allennlp.commands ...` instead of
`allennlp ...`.
"""

from mtdnn_allennlp.commands.export_onnx import ExportOnnx
from mtdnn_allennlp.commands.soft_targets import EnsembleSoftTargets, SoftTargets

__all__ = ["EnsembleSoftTargets", "ExportOnnx", "SoftTargets"]
