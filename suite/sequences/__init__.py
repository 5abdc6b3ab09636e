"""Sequences from anywhere, read, checked and prepared for a recurrent network.

Read (read): a UCR/UEA dataset bundled with sktime (archive: `read_archive`, `archive_names`),
a .ts pair (tsfile), an .npz of arrays (npzfile) or a long .csv (csvfile) (`read_file`), each
into one `RawSequences` (raw): NaN-padded float64 arrays, the labels as read, and a digest of
the data. No file, and no array a reader makes of it, may take more than a quarter of the
memory available (limits), checked before it is read or made. Prepare (prepare): decides
the task and encodes classes or the target (targets), holds out validation (and test) cases
(splits), standardises each channel and pads to `PAD_VALUE` for masking (scaling), returning
float32 arrays and the `Description` a run records (description). Every refusal is a
`SequenceError` (errors): one line naming the file, the fault and its fix.

No Keras, no MLflow here: `study/` validates against this package and `train/` consumes it.
"""

from __future__ import annotations

from suite.sequences.archive import archive_names, archive_path
from suite.sequences.description import Description
from suite.sequences.errors import SequenceError
from suite.sequences.prepare import Prepared, prepare
from suite.sequences.raw import RawSequences, RawSplit
from suite.sequences.read import read_archive, read_csv, read_file, read_npz, read_ts
from suite.sequences.scaling import FILL_MISSING, PAD_VALUE
from suite.sequences.targets import TASKS

__all__ = [
    "FILL_MISSING",
    "PAD_VALUE",
    "TASKS",
    "Description",
    "Prepared",
    "RawSequences",
    "RawSplit",
    "SequenceError",
    "archive_names",
    "archive_path",
    "prepare",
    "read_archive",
    "read_csv",
    "read_file",
    "read_npz",
    "read_ts",
]
