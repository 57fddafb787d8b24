"""`allennlp mtdnn-report RUN_DIR`: pictures of a run and a report.md that shows them."""

import json
import re

import pytest
from PIL import Image

from mtdnn_allennlp.reports.run_report import task_curves, write_report
from tests.conftest import FIXTURES, run_allennlp

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _linked_images(report):
    return re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report.read_text())


def _check_png(path):
    assert path.read_bytes()[:8] == PNG_SIGNATURE, path
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        width, height = image.size
        # Not blank: a plot has many colours (lines, text, fills).
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert 300 <= width <= 3000 and 200 <= height <= 2000, (path, image.size)
    assert path.stat().st_size > 5_000 and len(colours) > 20, path


def test_curves_are_read_per_task_and_split_in_epoch_order(tmp_path):
    for epoch, (train, dev) in enumerate([(0.9, 0.8), (0.5, 0.6), (0.3, 0.55)]):
        metrics = {"training_rte_loss": train, "validation_rte_loss": dev, "training_loss": 1}
        (tmp_path / f"metrics_epoch_{epoch}.json").write_text(json.dumps(metrics))
    epochs = [json.loads((tmp_path / f"metrics_epoch_{i}.json").read_text()) for i in range(3)]
    assert task_curves(epochs, "rte") == {
        "loss": {"training": [0.9, 0.5, 0.3], "validation": [0.8, 0.6, 0.55]}
    }
    # A run without an archive (still training) gets its curves only.
    report = write_report(str(tmp_path))
    assert _linked_images(report) == ["rte_curves.png"]
    _check_png(report.parent / "rte_curves.png")


def test_a_folder_without_epochs_is_refused(tmp_path):
    with pytest.raises(Exception, match="no metrics_epoch_"):
        write_report(str(tmp_path))


@pytest.mark.slow
def test_report_of_a_run_with_every_kind_of_dev_picture(tmp_path):
    run = tmp_path / "run"
    run_allennlp(["train", str(FIXTURES / "configs" / "report.jsonnet"), "-s", str(run)])
    result = run_allennlp(["mtdnn-report", str(run)])
    report = run / "report" / "report.md"
    assert f"report written to {report}" in result.stdout
    expected = {
        f"{task}_{kind}.png" for task in ("rte", "stsb", "conll2003") for kind in ("curves", "dev")
    }
    assert set(_linked_images(report)) == expected
    for name in expected:
        _check_png(run / "report" / name)
    text = report.read_text()
    for heading in ("confusion matrix", "predictions and residuals", "F1 per entity type"):
        assert heading in text
    metrics = json.loads((run / "metrics.json").read_text())
    assert f"| rte | accuracy | {metrics['best_validation_rte_accuracy']:.4f} |" in text
