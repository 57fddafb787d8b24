"""`allennlp soft-targets` and `allennlp ensemble-soft-targets`: teachers' outputs for distillation.

    allennlp soft-targets TEACHER.tar.gz[,TEACHER2.tar.gz...] TRAIN_PATHS --output-file F
    allennlp ensemble-soft-targets A.jsonl B.jsonl ... --output-file F
    allennlp merge-soft-targets RTE.jsonl MRPC.jsonl ... --output-file F

TRAIN_PATHS is what `allennlp evaluate` takes: a JSON {task: file} mapping, or one file for a
single-task model. Several archives are an ensemble: their outputs are averaged. Merging
concatenates files of different examples (one per task, from per-task teachers) and refuses an
example that two files cover.
"""

import argparse
import logging

from allennlp.commands.subcommand import Subcommand

logger = logging.getLogger(__name__)


@Subcommand.register("soft-targets")
class SoftTargets(Subcommand):
    def add_subparser(self, parser: argparse._SubParsersAction) -> argparse.ArgumentParser:
        description = (
            "Write each training example's teacher outputs (class probabilities, scores, "
            "per-word tag distributions), keyed by task and example id, for distillation. "
            "Several comma-separated archives are averaged (an ensemble)."
        )
        subparser = parser.add_parser(self.name, description=description, help=description)
        subparser.add_argument("archive_files", help="teacher archive(s), comma-separated")
        subparser.add_argument(
            "input_file", help='a JSON {"task": "train file"} mapping, or one file'
        )
        subparser.add_argument("--output-file", required=True, help="the JSONL file to write")
        subparser.add_argument("--batch-size", type=int, default=64)
        subparser.add_argument("--cuda-device", type=int, default=-1)
        subparser.add_argument(
            "--sample-per-task",
            type=int,
            default=None,
            help="only the seeded subset a student reads with MTDNN_TRAIN_EXAMPLES set to this",
        )
        subparser.add_argument(
            "--sample-seed",
            type=int,
            default=0,
            help="the student's MTDNN_SEED, which picks that subset (with --sample-per-task)",
        )
        subparser.add_argument(
            "-o",
            "--overrides",
            default="",
            help="a JSON object of config settings to change in every teacher's archived "
            "config, as `allennlp evaluate -o` takes (e.g. a task reader's columns)",
        )
        subparser.add_argument(
            "--per-teacher-dir",
            default=None,
            help="also write each teacher's own outputs here (teacher_0.jsonl, ...)",
        )
        subparser.set_defaults(func=_soft_targets)
        return subparser


@Subcommand.register("ensemble-soft-targets")
class EnsembleSoftTargets(Subcommand):
    def add_subparser(self, parser: argparse._SubParsersAction) -> argparse.ArgumentParser:
        description = (
            "Average soft-target files of several teachers (made by `soft-targets`): "
            "probabilities and scores, example by example."
        )
        return _files_into_one(parser, self.name, description, _ensemble)


@Subcommand.register("merge-soft-targets")
class MergeSoftTargets(Subcommand):
    def add_subparser(self, parser: argparse._SubParsersAction) -> argparse.ArgumentParser:
        description = (
            "Concatenate soft-target files of different examples (e.g. one per task, each from "
            "that task's own teachers) into one file; an example in two files is an error."
        )
        return _files_into_one(parser, self.name, description, _merge)


def _files_into_one(
    parser: argparse._SubParsersAction, name: str, description: str, func
) -> argparse.ArgumentParser:
    """A subcommand that reads several soft-target files and writes one."""
    subparser = parser.add_parser(name, description=description, help=description)
    subparser.add_argument("soft_target_files", nargs="+")
    subparser.add_argument("--output-file", required=True)
    subparser.set_defaults(func=func)
    return subparser


def _soft_targets(args: argparse.Namespace) -> None:
    from pathlib import Path

    from allennlp.common.checks import ConfigurationError

    from mtdnn_allennlp.distillation.soft_targets import (
        average_records,
        teacher_records,
        write_records,
    )

    archives = [each for each in args.archive_files.split(",") if each]
    teachers = []
    for index, archive in enumerate(archives):
        logger.info("soft targets from teacher %d: %s", index, archive)
        try:
            records = teacher_records(
                archive,
                args.input_file,
                args.batch_size,
                args.cuda_device,
                sample_per_task=args.sample_per_task,
                sample_seed=args.sample_seed,
                overrides=args.overrides,
            )
        except Exception as error:
            # Nothing is written until every teacher has succeeded.
            raise ConfigurationError(
                f"teacher {index} of {len(archives)} ({archive}) failed: {error}\n  Nothing was "
                "written; fix or drop that teacher and run the command again."
            ) from error
        teachers.append(records)
    averaged = average_records(teachers, archives)
    if args.per_teacher_dir:
        for index, records in enumerate(teachers):
            write_records(records, str(Path(args.per_teacher_dir) / f"teacher_{index}.jsonl"))
    write_records(averaged, args.output_file)
    logger.info(
        "wrote soft targets of %d examples, averaged over %d teacher(s), to %s",
        len(averaged),
        len(archives),
        args.output_file,
    )


def _ensemble(args: argparse.Namespace) -> None:
    from mtdnn_allennlp.distillation.soft_targets import (
        average_records,
        read_records,
        write_records,
    )

    teachers = []
    for file in args.soft_target_files:
        records = read_records(file)
        for record in records.values():
            record.pop("_line", None)
        teachers.append(records)
    write_records(average_records(teachers, args.soft_target_files), args.output_file)


def _merge(args: argparse.Namespace) -> None:
    from mtdnn_allennlp.distillation.soft_targets import merge_records, read_records, write_records

    parts = [read_records(file) for file in args.soft_target_files]
    merged = merge_records(parts, args.soft_target_files)
    # `_line` is where a record was read, kept for merge_records' errors; not part of the format.
    write_records(
        {key: {k: v for k, v in record.items() if k != "_line"} for key, record in merged.items()},
        args.output_file,
    )
    logger.info(
        "merged soft targets of %d examples from %d file(s) into %s",
        len(merged),
        len(parts),
        args.output_file,
    )
