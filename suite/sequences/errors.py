"""The one refusal of this package, and the shape of its message.

Every refusal is a SetupError: bad data fails every run the same way, so the study stops at once
with one line that names the file (or archive dataset), what is wrong in it and how to fix it.
"""

from __future__ import annotations

from pathlib import Path

from suite.errors import SetupError


class SequenceError(SetupError):
    """A sequence dataset cannot be read or prepared: `where: what is wrong; how to fix it`."""


def refusal(where: str | Path, problem: str, fix: str = "") -> SequenceError:
    """The error to raise, its message kept to one line: library messages quoted inside it
    (sktime's, zipfile's) may carry newlines, and the CLI prints exactly one line."""
    message = f"{where}: {problem}" + (f"; {fix}" if fix else "")
    return SequenceError(" ".join(message.split()))
