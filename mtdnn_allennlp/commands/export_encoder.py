"""`allennlp export-encoder ARCHIVE DIR`: a trained model's shared encoder as a plain
transformers folder (config, weights, tokenizer), e.g. after masked-LM pre-training, so that
fine-tuning configs load it by path: MTDNN_ENCODER=DIR.
"""

import argparse
import logging
from pathlib import Path

from allennlp.commands.subcommand import Subcommand
from allennlp.common.checks import ConfigurationError
from allennlp.models.archival import load_archive

from mtdnn_allennlp.data.tokenization import load_tokenizer

logger = logging.getLogger(__name__)


def export_encoder(archive_file: str, output_dir: str) -> Path:
    """Writes the archived model's encoder and its tokenizer to `output_dir`; returns it."""
    archive = load_archive(archive_file)
    encoder = getattr(archive.model, "encoder", None)
    transformer = getattr(encoder, "transformer", None)
    tokenizer_name = getattr(encoder, "tokenizer_name", None)
    if transformer is None or tokenizer_name is None:
        raise ConfigurationError(
            f"{archive_file}: the model has no transformers encoder to export (an mtdnn model "
            "with a 'transformer' or 'transformer_from_config' encoder has)."
        )
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    transformer.save_pretrained(folder)
    load_tokenizer(tokenizer_name).save_pretrained(folder)
    logger.info("encoder written to %s; fine-tune with MTDNN_ENCODER=%s", folder, folder)
    return folder


@Subcommand.register("export-encoder")
class ExportEncoder(Subcommand):
    def add_subparser(self, parser: argparse._SubParsersAction) -> argparse.ArgumentParser:
        description = "Write a trained model's encoder as a plain transformers folder."
        subparser = parser.add_parser(self.name, description=description, help=description)
        subparser.add_argument("archive_file", type=str, help="the model.tar.gz of a run")
        subparser.add_argument("output_dir", type=str, help="the folder to write")
        subparser.set_defaults(func=lambda args: export_encoder(args.archive_file, args.output_dir))
        return subparser
