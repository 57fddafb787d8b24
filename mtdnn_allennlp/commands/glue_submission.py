"""`allennlp glue-submission ARCHIVE --output-dir DIR`: the files GLUE's leaderboard expects.

For every GLUE task the archived model has a head for, reads the task's test file from the GLUE
data folder with the task's own reader, predicts, and writes `<Task>.tsv` with a header
`index<TAB>prediction` and one row per test example, in file order:

- classification: the label as GLUE writes it, i.e. the value in the data files (`0`/`1` for
  CoLA, SST-2, MRPC, QQP, WNLI; `entailment`/`not_entailment` for RTE and QNLI;
  `entailment`/`neutral`/`contradiction` for MNLI and AX): the reader's `label_map` is undone;
- regression (STS-B): the score clipped to GLUE's [0, 5] range, 3 decimals.

MNLI writes MNLI-m.tsv, MNLI-mm.tsv and AX.tsv (the diagnostic set, predicted by the MNLI head).
Tasks that are not GLUE tasks (SNLI, NER...) are skipped. Also runnable without the allennlp
CLI: `python -m mtdnn_allennlp.commands ARCHIVE --output-dir DIR`.
"""

import argparse
import logging
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from allennlp.commands.subcommand import Subcommand
from allennlp.common.checks import ConfigurationError
from allennlp.common.tqdm import Tqdm

logger = logging.getLogger(__name__)

# task name (tasks.libsonnet): [(submission file, test file under the GLUE folder)]
GLUE_FILES: Dict[str, List[Tuple[str, str]]] = {
    "cola": [("CoLA.tsv", "CoLA/test.tsv")],
    "sst2": [("SST-2.tsv", "SST-2/test.tsv")],
    "mrpc": [("MRPC.tsv", "MRPC/test.tsv")],
    "stsb": [("STS-B.tsv", "STS-B/test.tsv")],
    "qqp": [("QQP.tsv", "QQP/test.tsv")],
    "mnli": [
        ("MNLI-m.tsv", "MNLI/test_matched.tsv"),
        ("MNLI-mm.tsv", "MNLI/test_mismatched.tsv"),
        ("AX.tsv", "diagnostic/diagnostic.tsv"),
    ],
    "qnli": [("QNLI.tsv", "QNLI/test.tsv")],
    "rte": [("RTE.tsv", "RTE/test.tsv")],
    "wnli": [("WNLI.tsv", "WNLI/test.tsv")],
}
STSB_RANGE = (0.0, 5.0)


@Subcommand.register("glue-submission")
class GlueSubmission(Subcommand):
    def add_subparser(self, parser: argparse._SubParsersAction) -> argparse.ArgumentParser:
        description = "Write GLUE leaderboard submission files (<Task>.tsv) from a trained archive."
        subparser = parser.add_parser(self.name, description=description, help=description)
        subparser.add_argument("archive_file", type=str, help="the model.tar.gz to predict with")
        subparser.add_argument(
            "--output-dir", type=str, required=True, help="where to write the .tsv files"
        )
        subparser.add_argument(
            "--data-dir",
            type=str,
            default=None,
            help="the GLUE folder holding RTE/, MRPC/, ... (default: $MTDNN_DATA/glue)",
        )
        subparser.add_argument(
            "--tasks", nargs="+", default=None, help="only these tasks (default: all GLUE tasks)"
        )
        subparser.add_argument("--batch-size", type=int, default=64)
        subparser.add_argument("--cuda-device", type=int, default=-1)
        subparser.set_defaults(func=_run)
        return subparser


def _run(args: argparse.Namespace) -> None:
    written = write_submission(
        args.archive_file,
        args.output_dir,
        data_dir=args.data_dir,
        tasks=args.tasks,
        batch_size=args.batch_size,
        cuda_device=args.cuda_device,
    )
    for name, rows in written.items():
        print(f"{Path(args.output_dir) / name}: {rows} predictions")


def write_submission(
    archive_file: str,
    output_dir: str,
    data_dir: Optional[str] = None,
    tasks: Optional[List[str]] = None,
    batch_size: int = 64,
    cuda_device: int = -1,
) -> Dict[str, int]:
    """Writes the submission files; returns `{file name: rows written}`."""
    # The command may run without --include-package: register the model, readers and heads.
    from allennlp.common.util import import_module_and_submodules
    from allennlp.models.archival import load_archive

    from mtdnn_allennlp.common.atomic import atomic_folder
    from mtdnn_allennlp.common.environment import setting

    import_module_and_submodules("mtdnn_allennlp")
    glue = Path(data_dir) if data_dir else Path(setting("MTDNN_DATA")) / "glue"
    archive = load_archive(archive_file, cuda_device=cuda_device)
    model = archive.model
    model.eval()
    reader = archive.validation_dataset_reader
    model_tasks = list(model.tasks)  # type: ignore[attr-defined]
    chosen = tasks if tasks is not None else [t for t in model_tasks if t in GLUE_FILES]
    for task in chosen:
        if task not in GLUE_FILES:
            raise ConfigurationError(
                f"'{task}' is not a GLUE task with a submission file ({sorted(GLUE_FILES)})."
            )
        if task not in model_tasks:
            raise ConfigurationError(
                f"The model in {archive_file} has no '{task}' head (its tasks: {model_tasks})."
            )
    if not chosen:
        raise ConfigurationError(
            f"The model in {archive_file} has no GLUE task (its tasks: {model_tasks}); GLUE "
            f"submissions cover {sorted(GLUE_FILES)}."
        )
    skipped = sorted(set(model_tasks) - set(chosen))
    if skipped:
        logger.info("No GLUE submission file for tasks %s", skipped)

    # Every test file is found before anything is written: a missing one leaves no partial
    # submission behind.
    test_files = {
        name: _test_file(glue / test_file, task, data_dir)
        for task in chosen
        for name, test_file in GLUE_FILES[task]
    }
    written: Dict[str, int] = {}
    with atomic_folder(output_dir) as output:
        for task in chosen:
            _write_task(model, reader, task, test_files, output, batch_size, written)
    return written


def _test_file(path: Path, task: str, data_dir: Optional[str]) -> Path:
    from mtdnn_allennlp.common.errors import DataError
    from mtdnn_allennlp.data.dataset_readers.task_reader import resolve_data_file

    if data_dir is None:
        return resolve_data_file(str(path), task)
    if not path.is_file():
        raise DataError(
            "test file not found; nothing was written.",
            file=str(path),
            task=task,
            fix=f"--data-dir {data_dir} must be the GLUE folder holding RTE/, SST-2/, ...; "
            "give the right folder, or leave out the task with --tasks",
        )
    return path


def _write_task(
    model,
    reader,
    task: str,
    test_files: Dict[str, Path],
    output: Path,
    batch_size: int,
    written: Dict[str, int],
) -> None:
    """Predicts one task's test files into the (temporary) submission folder."""
    task_reader = reader.reader_for(task)  # type: ignore[attr-defined]
    # A test set is predicted whole, whatever cap the training run's reader had.
    task_reader.max_instances = None
    to_file_value = {name: value for value, name in task_reader.label_map.items()}
    for name, _ in GLUE_FILES[task]:
        path = test_files[name]
        instances = list(task_reader.read(str(path)))
        rows = []
        batches = Tqdm.tqdm(
            range(0, len(instances), batch_size), desc=f"{name}: predicting", unit=" batches"
        )
        for start in batches:
            for prediction in model.forward_on_instances(instances[start : start + batch_size]):
                if "score" in prediction:  # a regression task's output (STS-B)
                    low, high = STSB_RANGE
                    value = f"{min(max(float(prediction['score']), low), high):.3f}"
                else:
                    value = to_file_value.get(prediction["label"], prediction["label"])
                rows.append(f"{prediction['id']}\t{value}")
        (output / name).write_text("index\tprediction\n" + "".join(r + "\n" for r in rows))
        written[name] = len(rows)
        logger.info("%s: %d predictions of %s from %s", name, len(rows), task, path)
