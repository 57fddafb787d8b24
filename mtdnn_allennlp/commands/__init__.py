"""allennlp subcommands of the plugin: `soft-targets`, `ensemble-soft-targets`, `export-onnx`,
`export-encoder`, `export-hf`, `glue-submission`, `mtdnn-report`.

allennlp builds its command line before `--include-package` is read, so plugin subcommands must
be registered by a plugin that it imports itself. The compat fix `default_plugin` makes this
package one of allennlp's default plugins, so `allennlp soft-targets ...` works from any folder
(`python -m mtdnn_allennlp.commands ...` does the same without the compat hook).
"""

from mtdnn_allennlp.commands.export_encoder import ExportEncoder, export_encoder
from mtdnn_allennlp.commands.export_hf import ExportHf
from mtdnn_allennlp.commands.export_onnx import ExportOnnx
from mtdnn_allennlp.commands.glue_submission import GlueSubmission
from mtdnn_allennlp.commands.mtdnn_report import MtdnnReport
from mtdnn_allennlp.commands.soft_targets import EnsembleSoftTargets, SoftTargets

__all__ = [
    "EnsembleSoftTargets",
    "ExportEncoder",
    "ExportHf",
    "ExportOnnx",
    "GlueSubmission",
    "MtdnnReport",
    "SoftTargets",
    "export_encoder",
]
