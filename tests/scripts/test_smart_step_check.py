"""scripts/smart_step_check.py: SMART's ascent step against random noise on real batches."""

import pytest
import torch

from scripts import smart_step_check as check
from tests.conftest import FIXTURES


def test_random_control_has_the_ascent_noises_per_token_size():
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn(2, 5, 8, generator=generator) * torch.tensor([0.1, 2.0]).view(2, 1, 1)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    control = check.random_like(noise * mask.unsqueeze(-1), mask, generator)
    sizes = (noise * mask.unsqueeze(-1)).abs().amax(dim=-1)
    assert torch.allclose(control.abs().amax(dim=-1), sizes)
    assert not torch.allclose(control, noise * mask.unsqueeze(-1))  # another direction
    assert control[0, 3:].abs().sum() == 0  # nothing on padding


@pytest.mark.slow
def test_the_check_runs_every_step_size_on_a_trained_model(trained_run):
    run = trained_run("training_config/glue/rte.jsonnet", MTDNN_SMOKE="1")
    data = str(FIXTURES / "data" / "glue" / "RTE" / "train.tsv")
    result = check.check(str(run / "model.tar.gz"), data, batches=2, batch_size=4)
    assert result["batches"] == 2 and result["task"] == "rte"
    rows = {row["step_size"]: row for row in result["rows"]}
    assert sorted(rows) == check.STEP_SIZES
    for row in rows.values():
        assert len(row["adv_loss_per_batch"]) == 2
        assert all(loss >= 0 for loss in row["adv_loss_per_batch"])
    # Step 1 in the per-token L-inf norm, projected on the epsilon-1 ball: some token moved by 1.
    assert rows[1.0]["max_token_noise_norm"] == pytest.approx(1.0)
    # No step: the initial noise alone, variance 1e-5 (a few standard deviations of 0.0032).
    assert rows[0.0]["max_token_noise_norm"] < 0.05
