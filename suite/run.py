"""`python -m suite.run STUDY.yaml`: the command's entry point (the command lives in suite.cli)."""

from __future__ import annotations

from suite.cli.main import cli, main

__all__ = ["cli", "main"]

if __name__ == "__main__":
    cli()
