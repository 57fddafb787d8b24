"""A test-only adversarial divergence that is NaN on distributed worker 1 and symmetric KL
elsewhere: worker 1 then skips every adversarial term while worker 0 does not, which must not
make the workers disagree on their collective calls."""

import torch

from mtdnn_allennlp.losses import SymmetricKLLoss, TaskLoss


@TaskLoss.register("test_nan_on_rank_1")
class NanOnRankOne(SymmetricKLLoss):
    def forward(self, input, target, mask=None):
        loss = super().forward(input, target, mask)
        distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
        if distributed and torch.distributed.get_rank() == 1:
            return loss * float("nan")
        return loss
