"""The command line: Typer commands that parse options, call the public API and print its results.

The library never imports this package; ``main(argv) -> ExitStatus`` is the one place where
exceptions become exit codes.
"""

from .app import app, main

__all__ = ["app", "main"]
