"""allennlp subcommands of this package. `.allennlp_plugins` names this module, so the stock
`allennlp` command finds them when run from the project folder."""

from mtdnn_allennlp.commands.export_encoder import ExportEncoder, export_encoder

__all__ = ["ExportEncoder", "export_encoder"]
