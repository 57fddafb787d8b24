"""The multi-task data loader: single-task batches, interleaved across tasks by a sampler.

Each epoch:
1. every task's instances are shuffled and cut into batches of similar length (sorting within
   pools of `batch_size * 100` instances), which cuts padding without fixing batch membership;
2. the sampler decides which task each batch of the epoch comes from;
3. under distributed training, worker k takes every k-th batch of that schedule, after the
   last batches are halved if needed so that every worker gets as many (`split_for_workers`).

All randomness comes from `random.Random(seed + epoch)`, with the epoch counted by this loader's
own iterations. allennlp's `--recover` replays the completed epochs' iterations, so a resumed
run sees exactly the batches that an uninterrupted run would have seen.
"""

import logging
import random
from typing import Dict, Iterator, List, Optional, Tuple, Union

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.common.tqdm import Tqdm
from allennlp.data import Instance, Vocabulary
from allennlp.data.data_loaders.data_collator import DefaultDataCollator
from allennlp.data.data_loaders.data_loader import DataLoader, TensorDict
from allennlp.nn.util import move_to_device

from mtdnn_allennlp.data.data_loaders.samplers import ProportionalSampler, TaskSampler
from mtdnn_allennlp.data.dataset_readers.multitask import DataPaths, MultiTaskReader

logger = logging.getLogger(__name__)

POOL_BATCHES = 100


@DataLoader.register("mtdnn_multitask")
class MultiTaskDataLoader(DataLoader):
    """
    # Parameters

    reader : `MultiTaskReader`
    data_path : `Union[str, Dict[str, Union[str, Dict]]]`
        `{task: file}`, its JSON text (as `allennlp evaluate` passes it), or one file when the
        model has a single task. A file may be an object saying how to read it (a layout, reader
        changes, a sample): see `MultiTaskReader`.
    batch_size : `Union[int, Dict[str, int]]`, optional (default = `16`)
        One size, or a size per task.
    sampler : `TaskSampler`, optional (default = `proportional`)
        Which task each batch comes from.
    sort_by_length : `bool`, optional (default = `True`)
        Batch instances of similar length together (within pools), to cut padding.
    shuffle : `bool`, optional (default = `True`)
        Shuffle instances and batches every epoch. Off for evaluation: file order.
    seed : `int`, optional (default = `2018`)
    drop_last : `bool`, optional (default = `False`)
        Drop each task's last, smaller batch.
    cuda_device : `Union[int, str, torch.device]`, optional
    read_at_start : `bool`, optional (default = `True`)
        Read every file when the loader is built, so that a bad row in a dev or test file stops
        `allennlp train` before the first epoch rather than after it (and before anything is
        checkpointed). Off: read on first use.
    """

    def __init__(
        self,
        reader: MultiTaskReader,
        data_path: DataPaths,
        batch_size: Union[int, Dict[str, int]] = 16,
        sampler: Optional[TaskSampler] = None,
        sort_by_length: bool = True,
        shuffle: bool = True,
        seed: int = 2018,
        drop_last: bool = False,
        cuda_device: Optional[Union[int, str, torch.device]] = None,
        read_at_start: bool = True,
    ) -> None:
        if not isinstance(reader, MultiTaskReader):
            raise ConfigurationError(
                "The mtdnn_multitask data loader needs the mtdnn_multitask dataset reader."
            )
        self.reader = reader
        self.paths = reader.task_paths(data_path)
        # This loader deals whole batches out to the distributed workers itself, from the same
        # full schedule on each. Readers built inside a worker would also keep only their rank's
        # share of each file, so each worker would see a quarter of the data (with 2 workers)
        # and the workers' schedules, even their lengths, would differ.
        reader.read_whole_files()
        if isinstance(batch_size, int):
            batch_size = {task: batch_size for task in self.paths}
        missing = set(self.paths) - set(batch_size)
        if missing:
            raise ConfigurationError(f"batch_size gives no size for tasks {sorted(missing)}.")
        self.batch_size = batch_size
        self.sampler = sampler or ProportionalSampler()
        self.sort_by_length = sort_by_length
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.cuda_device: Optional[torch.device] = None
        if cuda_device is not None:
            self.set_target_device(
                torch.device(cuda_device)
                if not isinstance(cuda_device, torch.device)
                else cuda_device
            )
        self.collator = DefaultDataCollator()
        self._instances: Optional[Dict[str, List[Instance]]] = None
        self._vocab: Optional[Vocabulary] = None
        self._epoch = 0
        self._schedule: Optional[Tuple[int, List[List[Instance]]]] = None
        if read_at_start:
            self._load()

    # --- instances ------------------------------------------------------------------------

    def _load(self) -> Dict[str, List[Instance]]:
        if self._instances is None:
            self._instances = {}
            for task, path in self.paths.items():
                try:
                    progress = Tqdm.tqdm(
                        self.reader.read_task(task, path),
                        desc=f"task {task}: reading and tokenising",
                        unit=" instances",
                    )
                    instances = list(progress)
                except TypeError as error:
                    # allennlp's trainer reads a TypeError from len() as "this loader has no
                    # length" and fails later on an unrelated `int * None`: never let one out.
                    raise ConfigurationError(
                        f"Task '{task}': reading {path} failed with {type(error).__name__}: "
                        f"{error}"
                    ) from error
                if not instances:
                    raise ConfigurationError(f"Task '{task}': no examples in {path}.")
                if self._vocab is not None:
                    for instance in instances:
                        instance.index_fields(self._vocab)
                self._instances[task] = instances
                logger.info("task %s: %d instances from %s", task, len(instances), path)
        return self._instances

    def iter_instances(self) -> Iterator[Instance]:
        for instances in self._load().values():
            yield from instances

    def index_with(self, vocab: Vocabulary) -> None:
        self._vocab = vocab
        if self._instances is not None:
            for instance in self.iter_instances():
                instance.index_fields(vocab)

    def set_target_device(self, device: torch.device) -> None:
        self.cuda_device = device

    # --- batches --------------------------------------------------------------------------

    def _task_batches(self, task: str, rng: random.Random) -> List[List[Instance]]:
        instances = list(self._load()[task])
        size = self.batch_size[task]
        if self.shuffle:
            rng.shuffle(instances)
        if self.sort_by_length:
            pool = size * POOL_BATCHES
            pools = [instances[i : i + pool] for i in range(0, len(instances), pool)]
            instances = [x for p in pools for x in sorted(p, key=_length)]
        batches = [instances[i : i + size] for i in range(0, len(instances), size)]
        if self.drop_last and len(batches) > 1 and len(batches[-1]) < size:
            batches.pop()
        if self.shuffle:
            rng.shuffle(batches)
        return batches

    def _epoch_batches(self, epoch: int) -> List[List[Instance]]:
        rng = random.Random(self.seed + epoch)
        per_task = {task: self._task_batches(task, rng) for task in self.paths}
        schedule = self.sampler.schedule(
            {task: len(batches) for task, batches in per_task.items()}, rng, epoch
        )
        cursors = {task: 0 for task in per_task}
        batches = []
        for task in schedule:
            task_batches = per_task[task]
            if cursors[task] == len(task_batches):  # a sampler may revisit a task: go round
                rng.shuffle(task_batches)
                cursors[task] = 0
            batches.append(task_batches[cursors[task]])
            cursors[task] += 1
        return _this_workers_share(batches)

    def epoch_batches(self, epoch: int) -> List[List[Instance]]:
        """The batches (lists of instances, before collation) that `epoch` iterates, in order,
        this worker's share under distributed training.

        Built once per epoch: allennlp and the adversarial callback ask for the loader's length
        on every batch, and rebuilding the schedule costs a pass over the data each time. A
        schedule depends only on the seed and the epoch, so it is kept."""
        if self._schedule is None or self._schedule[0] != epoch:
            self._schedule = (epoch, self._epoch_batches(epoch))
        return self._schedule[1]

    @property
    def epoch(self) -> int:
        """The epoch the next iteration runs (0 first); set it to replay an epoch's batches."""
        return self._epoch

    @epoch.setter
    def epoch(self, epoch: int) -> None:
        self._epoch = epoch

    def __len__(self) -> int:
        return len(self.epoch_batches(self._epoch))

    def __iter__(self) -> Iterator[TensorDict]:
        if self._vocab is None:
            raise ValueError("index_with(vocab) must be called before iterating the loader.")
        batches = self.epoch_batches(self._epoch)
        self._epoch += 1
        for batch in batches:
            tensors = self.collator(batch)
            if self.cuda_device is not None:
                tensors = move_to_device(tensors, self.cuda_device)
            yield tensors


def _length(instance: Instance) -> int:
    return len(instance["tokens"])  # type: ignore[arg-type]


def _this_workers_share(batches: List) -> List:
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return batches
    world, rank = torch.distributed.get_world_size(), torch.distributed.get_rank()
    return split_for_workers(batches, world)[rank]


def split_for_workers(batches: List[List], world: int) -> List[List[List]]:
    """Deals the epoch's batches out to `world` workers: every example exactly once, and the
    same number of batches on every worker.

    Equal counts matter: DDP synchronises every step, and allennlp's trainer stops all workers
    (dropping the rest of the data) as soon as one runs out. So when the batch count is not a
    multiple of `world`, the largest batches (the last among equals) are halved, each half
    keeping its task, until it is. Every worker computes the same schedule from
    the same seed, so they all split alike.
    """
    batches = list(batches)
    while len(batches) % world:
        sizes = [len(batch) for batch in batches]
        if not sizes or max(sizes) < 2:
            raise ConfigurationError(
                f"Cannot share {sum(sizes)} examples among {world} workers with an equal "
                "number of batches each. Use fewer workers or more data."
            )
        # Halving the largest batch leaves the halves closest to a full batch.
        position = max(range(len(batches)), key=lambda i: (sizes[i], i))
        batch = batches[position]
        half = len(batch) // 2
        batches[position : position + 1] = [batch[:half], batch[half:]]
    return [batches[rank::world] for rank in range(world)]
