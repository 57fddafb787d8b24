"""`allennlp export-hf ARCHIVE --task NAME DIR`: one task of a trained model as a standard
transformers folder (model, tokenizer, model card) that `AutoModelFor...from_pretrained` and
`pipeline()` load without this package. See mtdnn_allennlp/hub/export.py for the mappings."""

import argparse
from pathlib import Path

from allennlp.commands.subcommand import Subcommand


def export_archive_task(archive_file: str, task_name: str, output_dir: str) -> Path:
    from allennlp.models.archival import load_archive

    from mtdnn_allennlp.hub.export import export_task
    from mtdnn_allennlp.hub.model_card import card_values_from_run

    archive = load_archive(archive_file)
    values = card_values_from_run(archive_file, archive.config.as_dict(quiet=True), task_name)
    return export_task(
        archive.model, archive.validation_dataset_reader, task_name, output_dir, values
    )


@Subcommand.register("export-hf")
class ExportHf(Subcommand):
    def add_subparser(self, parser: argparse._SubParsersAction) -> argparse.ArgumentParser:
        description = (
            "Export one task of a trained model as a transformers folder (AutoModelFor... "
            "weights, tokenizer, model card) that pipeline() loads."
        )
        subparser = parser.add_parser(self.name, description=description, help=description)
        subparser.add_argument("archive_file", help="the model archive (model.tar.gz)")
        subparser.add_argument("output_dir", help="the folder to write")
        subparser.add_argument("--task", required=True, help="the task to export")
        subparser.set_defaults(func=_export)
        return subparser


def _export(args: argparse.Namespace) -> None:
    folder = export_archive_task(args.archive_file, args.task, args.output_dir)
    print(f"exported task {args.task} to {folder} (see {folder}/README.md)")
