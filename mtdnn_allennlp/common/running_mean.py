"""A running mean that a model reports with its metrics (`MultiTaskModel.training_monitors`)."""

from typing import Optional


class RunningMean:
    """The mean of the values added since the last reset; None while there are none, so a
    statistic that only training produces (e.g. the distillation loss) is left out of the
    validation metrics."""

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0

    def add(self, value: float) -> None:
        self.total += value
        self.count += 1

    def __call__(self, reset: bool = False) -> Optional[float]:
        value = self.total / self.count if self.count else None
        if reset:
            self.total, self.count = 0.0, 0
        return value
