"""The CLI's one-line messages (error, interrupted), printed as plain text after the label.

Messages carry the user's own values (names, URIs, YAML): printed as rich markup, `[/x]`
would crash the printer and `[lstm]` in a hint would vanish, so only the label is styled.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text


def print_message(
    console: Console, message: str, *, label: str = "error", style: str = "red"
) -> None:
    console.print(
        Text.assemble((f"{label}:", style), " ", message), highlight=False, soft_wrap=True
    )
