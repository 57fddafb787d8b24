"""Python's cyclic garbage collector, paused while many new objects are built at once."""

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """The cyclic collector off inside the block (reference counting still frees everything).

    Reading a data file builds hundreds of thousands of containers (fields, instances, JSON
    values), none of them in a reference cycle. The collector runs after every few hundred new
    containers, and a full pass walks every container alive, so reading with it on costs time
    that grows with what was read before: measured, more than half of a cached read of RTE, MRPC
    and SST-2 (benchmarks/reading.py). The collector's previous state is restored after.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
