"""`allennlp mtdnn-report RUN_DIR`: a run's curves, dev-set pictures and report.md, written to
RUN_DIR/report/ (see mtdnn_allennlp/reports/run_report.py)."""

import argparse

from allennlp.commands.subcommand import Subcommand


@Subcommand.register("mtdnn-report")
class MtdnnReport(Subcommand):
    def add_subparser(self, parser: argparse._SubParsersAction) -> argparse.ArgumentParser:
        description = (
            "Plot a training run: per-task curves over the epochs, a confusion matrix, residual "
            "plot or per-label F1 on the dev set, and a report.md showing them (RUN_DIR/report)."
        )
        subparser = parser.add_parser(self.name, description=description, help=description)
        subparser.add_argument("run_dir", help="the serialization directory of a training run")
        subparser.set_defaults(func=_report)
        return subparser


def _report(args: argparse.Namespace) -> None:
    from mtdnn_allennlp.reports.run_report import write_report

    print(f"report written to {write_report(args.run_dir)}")
