"""Project policies applied to allennlp's own commands, through the same hook as the fixes.

These are not stack problems (allennlp would run without them) but choices of this package:
a failed start leaves no half-made run folder, archives are written atomically, `allennlp
predict` writes its output at the end and numbers input lines as the file does, and the package
is one of allennlp's default plugins. Each is registered with `fixes.fix` and listed in
`docs/compatibility.md`. Like `fixes`, this module is loaded by the import hook: nothing here
may import torch or allennlp at module level.
"""

import logging
import sys
import types

from mtdnn_allennlp.compat.fixes import fix

logger = logging.getLogger(__name__)


# --- 11. a failed start leaves a half-written serialization dir --------------------------------
# Not a stack problem: project policy. allennlp creates the serialization dir (config.json, logs)
# before it reads any data, so a run that stops on bad input leaves a dir that looks like a run
# and that blocks the same command from being run again once the input is fixed.

_CHECKPOINT_PATTERNS = ("model_state_e*.th", "training_state_e*.th", "best.th", "model.tar.gz")


def _holds_a_checkpoint(directory: str) -> bool:
    from pathlib import Path

    return any(any(Path(directory).glob(pattern)) for pattern in _CHECKPOINT_PATTERNS)


@fix("remove_failed_run_dir", ("allennlp.commands.train",), "after", lambda: True)
def remove_serialization_dir_of_a_failed_start(module: types.ModuleType) -> None:
    """Removes the serialization dir a new run made when it stops before its first checkpoint."""
    import functools
    import os

    original = module.train_model

    @functools.wraps(original)
    def train_model(params, serialization_dir, *args, **kwargs):
        recover = kwargs.get("recover", args[0] if args else False)
        force = kwargs.get("force", args[1] if len(args) > 1 else False)
        existed = os.path.isdir(serialization_dir) and bool(os.listdir(serialization_dir))
        ours = not recover and (force or not existed)
        try:
            from mtdnn_allennlp.common.config_check import check_experiment_keys

            check_experiment_keys(params)
            return original(params, serialization_dir, *args, **kwargs)
        except BaseException as error:  # bad data, a NaN loss, Ctrl-C: any failure
            _explain_failed_run(error, serialization_dir, remove=ours)
            raise

    module.train_model = train_model


def _explain_failed_run(error: BaseException, serialization_dir: str, remove: bool) -> None:
    """Removes a new run's dir when no checkpoint exists yet; otherwise says how to resume."""
    import os
    import shutil

    if isinstance(error, SystemExit) and not error.code:
        return
    if not os.path.isdir(serialization_dir):
        return
    if not _holds_a_checkpoint(serialization_dir):
        if remove:
            shutil.rmtree(serialization_dir, ignore_errors=True)
            _tell(
                f"removed {serialization_dir}: the run stopped before its first checkpoint, "
                "so the same command can be run again once the problem is fixed"
            )
        return
    _tell(
        f"the run stopped after a checkpoint was written in {serialization_dir}: to resume, "
        "run the same command with --recover (or choose a new -s folder to start afresh)"
    )


def _tell(message: str) -> None:
    # Both: the log goes to out.log and stderr, but a Ctrl-C may come before logging is set up.
    logger.error(message)
    if not logging.getLogger().handlers:
        sys.stderr.write(message + "\n")


# --- 11b. a Ctrl-C while archiving leaves a corrupt model.tar.gz --------------------------------
# Not a stack problem: project policy. allennlp archives the best weights when training ends and
# also when it is interrupted; a second Ctrl-C during that write left a truncated archive, on
# which `allennlp predict` later fails with a zlib error.


@fix("atomic_model_archive", ("allennlp.models.archival",), "after", lambda: True)
def write_model_archives_atomically(module: types.ModuleType) -> None:
    """Writes model.tar.gz under a temporary name; a file that does not extract leaves no folder.

    An archive is renamed into place once complete. `load_archive` extracts with cleanup off, so
    an extraction that fails (not an archive, a truncated one) left its temporary folder behind.
    """
    import functools
    import os
    import tempfile

    original = module.archive_model

    @functools.wraps(original)
    def archive_model(
        serialization_dir,
        weights=module._DEFAULT_WEIGHTS,
        archive_path=None,
        include_in_archive=None,
    ):
        final = archive_path or os.path.join(serialization_dir, "model.tar.gz")
        if os.path.isdir(final):
            final = os.path.join(final, "model.tar.gz")
        handle, temporary = tempfile.mkstemp(
            dir=os.path.dirname(os.path.abspath(final)), prefix=".model.", suffix=".tar.gz.tmp"
        )
        os.close(handle)
        try:
            original(serialization_dir, weights, temporary, include_in_archive)
            os.replace(temporary, final)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        return final

    module.archive_model = archive_model

    original_extracted = module.extracted_archive

    @functools.wraps(original_extracted)
    def extracted_archive(resolved_archive_file, cleanup=True):
        return _extracted_archive(resolved_archive_file, cleanup)

    module.extracted_archive = extracted_archive


def _extracted_archive(resolved_archive_file, cleanup):
    """allennlp's extracted_archive, minus its leak: with cleanup off (load_archive) a file that
    is not an archive left its half-extracted temporary folder behind."""
    import contextlib
    import shutil
    import tarfile
    import tempfile

    @contextlib.contextmanager
    def extract():
        tempdir = tempfile.mkdtemp()
        try:
            with tarfile.open(resolved_archive_file, "r:gz") as archive:
                archive.extractall(tempdir)
        except (tarfile.TarError, OSError, EOFError) as error:
            shutil.rmtree(tempdir, ignore_errors=True)
            from allennlp.common.checks import ConfigurationError

            raise ConfigurationError(
                f"{resolved_archive_file} is not a readable model archive ({error}). "
                "Give the model.tar.gz that `allennlp train` wrote (an interrupted run's "
                "archive is never half-written: retrain or use --recover if it is missing)."
            ) from None
        except BaseException:
            shutil.rmtree(tempdir, ignore_errors=True)
            raise
        try:
            yield tempdir
        finally:
            if cleanup:
                shutil.rmtree(tempdir, ignore_errors=True)

    return extract()


# --- 11c. allennlp predict: output written as it goes, input lines renumbered ------------------
# Not a stack problem: project policy. `_PredictManager` opens --output-file at start and writes
# each batch as it goes, so a failure leaves a truncated file; and it drops blank lines before
# the predictor sees them, so line numbers in errors and output positions drift.


@fix("predict_lines", ("allennlp.commands.predict",), "after", lambda: True)
def predict_into_a_temporary_file_with_numbered_lines(module: types.ModuleType) -> None:
    """Writes predictions to a temporary file renamed at the end; numbers every input line."""
    import functools
    import os
    import tempfile

    manager = module._PredictManager
    original_init, original_run = manager.__init__, manager.run
    original_json_data = manager._get_json_data

    @functools.wraps(original_init)
    def __init__(self, predictor, input_file, output_file, *args, **kwargs):
        original_init(self, predictor, input_file, None, *args, **kwargs)
        self._final_output = output_file
        if output_file is not None:
            handle, self._temporary_output = tempfile.mkstemp(
                dir=os.path.dirname(os.path.abspath(output_file)),
                prefix=f".{os.path.basename(output_file)}.",
                suffix=".tmp",
            )
            self._output_file = os.fdopen(handle, "w")

    @functools.wraps(original_run)
    def run(self):
        try:
            original_run(self)
        except BaseException:
            if self._output_file is not None:
                self._output_file.close()
                os.unlink(self._temporary_output)
            raise
        if self._output_file is not None:
            os.replace(self._temporary_output, self._final_output)

    @functools.wraps(original_json_data)
    def _get_json_data(self):
        json_lines = getattr(self._predictor, "json_lines", None)
        if json_lines is None:  # another package's predictor: allennlp's own reading
            yield from original_json_data(self)
        elif self._input_file == "-":
            yield from json_lines("<stdin>", sys.stdin)
        else:
            with module.open_compressed(module.cached_path(self._input_file)) as lines:
                yield from json_lines(self._input_file, lines)

    manager.__init__, manager.run, manager._get_json_data = __init__, run, _get_json_data


# --- 12. plugin subcommands from any folder ----------------------------------------------------
# Not a stack problem: discovery. allennlp builds its command line before it reads
# `--include-package`, so a plugin's subcommands (soft-targets, export-onnx, ...) exist only when
# a plugins file names the plugin, and `.allennlp_plugins` is read from the current folder only.
# allennlp_models solves this by being one of allennlp's DEFAULT_PLUGINS; so does this package.


@fix("default_plugin", ("allennlp.common.plugins",), "after", lambda: True)
def register_as_a_default_plugin(module: types.ModuleType) -> None:
    """Adds mtdnn_allennlp to allennlp's default plugins, so its subcommands work anywhere."""
    if "mtdnn_allennlp" not in module.DEFAULT_PLUGINS:
        module.DEFAULT_PLUGINS = (*module.DEFAULT_PLUGINS, "mtdnn_allennlp")
