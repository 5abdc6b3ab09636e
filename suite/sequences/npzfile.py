"""An .npz file of arrays: x_train, y_train and, together or not at all, x_test and y_test.

Read with allow_pickle=False: an object array is stored as a pickle, and unpickling a file can
run any code its author wrote into it.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from suite.sequences.errors import refusal
from suite.sequences.limits import refuse_large_array

REQUIRED = ("x_train", "y_train")
OPTIONAL = ("x_test", "y_test")
# What a damaged archive raises while its members are read: a cut or overwritten zip, a
# compressed member that does not inflate, a member shorter than its header says.
DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError)


def read_npz_arrays(path: Path, *, shown: str) -> dict[str, np.ndarray]:
    """The named arrays, x as (cases, steps, channels): a 2-D x is one channel."""
    arrays = _load(path, shown=shown)
    missing = [key for key in REQUIRED if key not in arrays]
    if missing:
        raise refusal(
            shown,
            f"has no {' or '.join(missing)} (it holds {', '.join(sorted(arrays)) or 'nothing'})",
            "save the arrays as x_train, y_train and optionally x_test, y_test",
        )
    if ("x_test" in arrays) != ("y_test" in arrays):
        given, absent = ("x_test", "y_test") if "x_test" in arrays else ("y_test", "x_test")
        raise refusal(shown, f"has {given} but no {absent}", "save both test arrays or neither")
    for key in ("x_train", "x_test"):
        if key in arrays:
            arrays[key] = _three_dimensional(arrays[key], key=key, shown=shown)
    return arrays


def _load(path: Path, *, shown: str) -> dict[str, np.ndarray]:
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as err:  # neither a zip nor an .npy: numpy would take it for a pickle
        raise refusal(
            shown,
            "is not an .npz archive (numpy could only read it as a pickle, and loading a"
            " pickle can run code)",
            "save the arrays with np.savez",
        ) from err
    except DAMAGED as err:
        raise _damaged(shown, err) from err
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise refusal(shown, "is a single .npy array, not an .npz archive", "save it with np.savez")
    with loaded as archive:
        wanted = [key for key in archive.files if key in REQUIRED + OPTIONAL]
        return {key: _member(archive, key, shown=shown) for key in wanted}


def _member(archive: np.lib.npyio.NpzFile, key: str, *, shown: str) -> np.ndarray:
    try:
        shape, itemsize = _declared(archive, key)
        refuse_large_array(shown, key, shape, itemsize=itemsize)
        return archive[key]
    except ValueError as err:
        if "allow_pickle" not in str(err):
            raise _damaged(shown, err) from err
        raise refusal(
            shown,
            f"{key} is an object array, stored as a pickle, and loading a pickle can run code",
            "save numbers (and labels as numbers or strings, e.g. np.array(labels, dtype=str))",
        ) from err
    except DAMAGED as err:
        raise _damaged(shown, err) from err


def _declared(archive: np.lib.npyio.NpzFile, key: str) -> tuple[tuple[int, ...], int]:
    """(shape, bytes per value) as the member's .npy header declares them: numpy allocates
    that much before it reads a byte of data, which may be far more than the file holds."""
    name = f"{key}.npy" if f"{key}.npy" in archive.zip.namelist() else key
    with archive.zip.open(name) as member:
        version = np.lib.format.read_magic(member)
        # 2.0 and 3.0 headers differ only in their text's encoding, ASCII in both for numbers
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, _, dtype = read_header(member)
    return shape, dtype.itemsize


def _damaged(shown: str, err: BaseException) -> Exception:
    return refusal(
        shown,
        f"cannot be read as an .npz archive ({type(err).__name__}: {err})",
        "the file is damaged or truncated: write it again with np.savez",
    )


def _three_dimensional(x: np.ndarray, *, key: str, shown: str) -> np.ndarray:
    if x.ndim == 2:
        return x[:, :, np.newaxis]
    if x.ndim != 3:
        raise refusal(
            shown,
            f"{key} has {x.ndim} dimensions {x.shape}",
            "expected cases x steps x channels, or cases x steps for one channel",
        )
    return x
