"""`allennlp export-onnx ARCHIVE DIR`: a folder that predicts without allennlp or this package.

DIR gets model.onnx (every task head in one graph), tokenizer/, labels.json and predict_onnx.py
(numpy + onnxruntime + tokenizers); `--optimize` and `--quantize int8` rewrite model.onnx after
the float export (onnxruntime graph optimisation, dynamic int8 quantisation). See
docs/distillation.md.
"""

import argparse

from allennlp.commands.subcommand import Subcommand


@Subcommand.register("export-onnx")
class ExportOnnx(Subcommand):
    def add_subparser(self, parser: argparse._SubParsersAction) -> argparse.ArgumentParser:
        description = (
            "Export a trained model to ONNX with its tokenizer, label map and a standalone "
            "predict_onnx.py that needs only onnxruntime, tokenizers and numpy."
        )
        subparser = parser.add_parser(self.name, description=description, help=description)
        subparser.add_argument("archive_file", help="the model archive (model.tar.gz)")
        subparser.add_argument("output_dir", help="the folder to write")
        subparser.add_argument(
            "--quantize",
            choices=["int8"],
            default=None,
            help="int8: onnxruntime dynamic quantisation of the weights (smaller, faster on CPU)",
        )
        subparser.add_argument(
            "--optimize",
            action="store_true",
            help="save the graph after onnxruntime's extended optimisations (operator fusions); "
            "applied before --quantize",
        )
        subparser.set_defaults(func=_export)
        return subparser


def _export(args: argparse.Namespace) -> None:
    from mtdnn_allennlp.distillation.export import export_archive

    folder = export_archive(args.archive_file, args.output_dir, args.quantize, args.optimize)
    print(f"exported to {folder}; predict with: python {folder}/predict_onnx.py {folder} IN.jsonl")
