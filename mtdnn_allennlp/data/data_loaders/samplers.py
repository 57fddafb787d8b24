"""Task samplers: which task each batch of an epoch comes from.

A sampler sees how many batches each task has and returns the epoch's sequence of task names.
The loader then takes each task's batches in (reshuffled) order, starting over when a task runs
out, so any sequence is valid.
"""

import random
from typing import Dict, List, Optional

from allennlp.common import Registrable
from allennlp.common.checks import ConfigurationError


class TaskSampler(Registrable):
    default_implementation = "proportional"

    def schedule(self, batches: Dict[str, int], rng: random.Random, epoch: int) -> List[str]:
        raise NotImplementedError


@TaskSampler.register("proportional")
class ProportionalSampler(TaskSampler):
    """MT-DNN's default: every batch of every task once per epoch, tasks interleaved at random.

    Tasks are therefore drawn in proportion to their number of batches.
    """

    def schedule(self, batches, rng, epoch):
        order = [task for task, count in batches.items() for _ in range(count)]
        rng.shuffle(order)
        return order


def _draw(weights: Dict[str, float], total: int, rng: random.Random) -> List[str]:
    tasks = list(weights)
    return rng.choices(tasks, weights=[weights[t] for t in tasks], k=total)


@TaskSampler.register("uniform")
class UniformSampler(TaskSampler):
    """Each batch's task drawn uniformly, so small tasks are revisited more often.

    # Parameters

    batches_per_epoch : `int`, optional
        Defaults to the total number of batches of all tasks.
    """

    def __init__(self, batches_per_epoch: Optional[int] = None) -> None:
        self.batches_per_epoch = batches_per_epoch

    def schedule(self, batches, rng, epoch):
        total = self.batches_per_epoch or sum(batches.values())
        return _draw({task: 1.0 for task in batches}, total, rng)


@TaskSampler.register("temperature")
class TemperatureSampler(TaskSampler):
    """Tasks drawn with probability proportional to size**(1/T).

    T = 1 is proportional and large T approaches uniform. With `final_temperature` and
    `anneal_epochs`, T moves linearly from `temperature` to `final_temperature` over those epochs.

    # Parameters

    temperature : `float`, optional (default = `2.0`)
    final_temperature : `float`, optional
    anneal_epochs : `int`, optional (default = `1`)
    batches_per_epoch : `int`, optional
        Defaults to the total number of batches of all tasks.
    """

    def __init__(
        self,
        temperature: float = 2.0,
        final_temperature: Optional[float] = None,
        anneal_epochs: int = 1,
        batches_per_epoch: Optional[int] = None,
    ) -> None:
        if temperature <= 0 or (final_temperature is not None and final_temperature <= 0):
            raise ConfigurationError("temperature sampler: temperatures must be positive.")
        self.temperature = temperature
        self.final_temperature = final_temperature
        self.anneal_epochs = max(1, anneal_epochs)
        self.batches_per_epoch = batches_per_epoch

    def temperature_at(self, epoch: int) -> float:
        if self.final_temperature is None:
            return self.temperature
        progress = min(1.0, epoch / self.anneal_epochs)
        return self.temperature + progress * (self.final_temperature - self.temperature)

    def schedule(self, batches, rng, epoch):
        t = self.temperature_at(epoch)
        total = self.batches_per_epoch or sum(batches.values())
        return _draw({task: count ** (1.0 / t) for task, count in batches.items()}, total, rng)


@TaskSampler.register("main_task_ratio")
class MainTaskRatioSampler(TaskSampler):
    """MT-DNN's `--ratio` (with `--mix_opt`): a main task, and auxiliary tasks capped relative
    to it.

    Each epoch has every batch of `main_task` once, plus `floor(ratio * main batches)` batches
    drawn without replacement from the pool of all the auxiliary tasks' batches (all of them if
    the pool is smaller). An auxiliary task is therefore drawn in proportion to its number of
    batches, and no auxiliary batch repeats within an epoch. The draw changes every epoch, so
    over epochs the auxiliary data is covered in turn. By default the main and auxiliary
    batches are shuffled together; `auxiliary_first` puts the auxiliary batches first (in
    random order) and the main task's after them, as MT-DNN's `--mix_opt 1` does.

    For example, RTE with 4 batches and SNLI with 600: `ratio: 0.5` gives an epoch of the 4 RTE
    batches and 2 SNLI batches, interleaved at random.

    # Parameters

    main_task : `str`
        The task of interest; every other task of the loader is auxiliary.
    ratio : `float`
        Auxiliary batches per main-task batch; 0 trains the main task alone.
    auxiliary_first : `bool`, optional (default = `False`)
    """

    def __init__(self, main_task: str, ratio: float, auxiliary_first: bool = False) -> None:
        if ratio < 0:
            raise ConfigurationError(f"main_task_ratio sampler: ratio is {ratio}; it must be >= 0.")
        self.main_task = main_task
        self.ratio = ratio
        self.auxiliary_first = auxiliary_first

    def schedule(self, batches, rng, epoch):
        if self.main_task not in batches:
            raise ConfigurationError(
                f"main_task_ratio sampler: main_task '{self.main_task}' is not one of the "
                f"loader's tasks {sorted(batches)}."
            )
        main = [self.main_task] * batches[self.main_task]
        pool = [
            task for task, count in batches.items() if task != self.main_task for _ in range(count)
        ]
        auxiliary = rng.sample(pool, min(int(self.ratio * len(main)), len(pool)))
        if self.auxiliary_first:
            return auxiliary + main  # rng.sample returns its draw in random order
        order = main + auxiliary
        rng.shuffle(order)
        return order


@TaskSampler.register("weighted")
class WeightedSampler(TaskSampler):
    """Each task's number of batches per epoch scaled by its weight, then interleaved at random.

    With every weight 1 this is `proportional`. A weight of 0.5 gives a task half its batches
    each epoch, 2 twice as many (going round its batches again): e.g. an auxiliary masked-LM
    task sampled less often than the task it helps.

    # Parameters

    weights : `Dict[str, float]`
        Weights by task name; tasks not named have weight 1. A task keeps at least one batch.
    """

    def __init__(self, weights: Dict[str, float]) -> None:
        negative = sorted(task for task, weight in weights.items() if weight <= 0)
        if negative:
            raise ConfigurationError(f"weighted sampler: weights must be positive ({negative}).")
        self.weights = dict(weights)

    def schedule(self, batches, rng, epoch):
        unknown = sorted(set(self.weights) - set(batches))
        if unknown:
            raise ConfigurationError(
                f"weighted sampler: weights name tasks {unknown} that have no data here "
                f"(tasks: {sorted(batches)})."
            )
        order = [
            task
            for task, count in batches.items()
            for _ in range(max(1, round(count * self.weights.get(task, 1.0))))
        ]
        rng.shuffle(order)
        return order
