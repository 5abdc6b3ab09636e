"""What a read may cost: a file, and the arrays a reader is about to make from it, against
the memory available now.

A file's size does not bound its arrays: a long .csv row at step 1,000,000,000, one long
series among short ones in a .ts file (every series is padded to the longest), an .npz member
whose header declares a shape its bytes do not hold, or one that inflates from a few
megabytes. So each reader asks `refuse_large_array` before it allocates, and the one message
names the shape that would have been made.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from suite.sequences.errors import refusal

# Reading takes the file's arrays as float64 plus their float32 copies for the model: a file
# or an array past this share of the memory available now would leave nothing to train with
# (the memory check, suite.forecast.memory, then judges training itself, from the shapes).
MOST_OF_MEMORY = 0.25
FIX = "give a smaller file (fewer cases or steps), or run on a machine with more memory"


def available_memory() -> int:
    """Bytes of memory available now (psutil's reading)."""
    import psutil

    return int(psutil.virtual_memory().available)


def refuse_too_large(shown: str | Path, size: int, available: int | None = None) -> None:
    """Refuse a file larger than MOST_OF_MEMORY of the memory available, before it is read:
    reading it would exhaust the machine before any check could speak."""
    available = available_memory() if available is None else available
    if size > MOST_OF_MEMORY * available:
        raise refusal(
            shown,
            f"is {size / 2**30:.1f} GiB, more than a quarter of the {available / 2**30:.1f} GiB"
            " of memory available to read and train it",
            FIX,
        )


def refuse_large_array(
    shown: str | Path,
    what: str,
    shape: tuple[int, ...],
    *,
    itemsize: int = 8,
    why: str = "",
    available: int | None = None,
) -> None:
    """Refuse to make an array of `shape` (float64 unless `itemsize` says otherwise) larger
    than MOST_OF_MEMORY of the memory available; `what` names it (x_train, the train split),
    `why` says what made it that large where the file's size does not show it."""
    size = int(np.prod(shape, dtype=object)) * itemsize  # Python ints: no overflow
    available = available_memory() if available is None else available
    if size > MOST_OF_MEMORY * available:
        raise refusal(
            shown,
            f"{what} would be {size / 2**30:.1f} GiB in memory ({_dimensions(shape)}"
            f"{', ' + why if why else ''}), more than a quarter of the"
            f" {available / 2**30:.1f} GiB available",
            FIX,
        )


def _dimensions(shape: tuple[int, ...]) -> str:
    """21 cases x 1,000,001 steps x 1 channel, or 20 x 7 values for another array."""
    if len(shape) == 3:
        units = ("case", "step", "channel")
        # suite.schema's counted, which this package may not import (it sits below schema).
        return " x ".join(
            f"{n:,} {unit}{'' if n == 1 else 's'}" for n, unit in zip(shape, units, strict=True)
        )
    return " x ".join(str(n) for n in shape) + " values"
