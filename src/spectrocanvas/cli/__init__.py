"""The command line: ``spectrocanvas COMMAND …`` (console script) and ``python -m spectrocanvas``."""

import os
import sys
from collections.abc import Sequence

from spectrocanvas.errors import SpectrocanvasError

# Before torch loads OpenMP: idle worker threads sleep instead of spinning. On a machine whose
# cores are busy with other work, spinning threads wait on each other (sonify measured 12.4 s
# instead of 0.77 s on 2 loaded cores); on a quiet machine passive waiting costs nothing visible.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status.

    ``spectrocanvas ui`` is parsed on its own, so the page starts without loading torch and the
    other commands (they load behind it); every other command goes through the whole parser."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["ui"]:
        from spectrocanvas.cli.ui import run_ui, ui_parser  # the page: torch loads after it answers

        return _guarded_ui(run_ui, ui_parser().parse_args(argv[1:]))
    from spectrocanvas.cli.commands import main as run_command  # torch and every command

    return run_command(argv)


def _guarded_ui(run, args) -> int:
    try:
        return run(args)
    except SpectrocanvasError as error:
        print(f"spectrocanvas ui: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130


__all__ = ["main"]
