"""The command line: ``spectrocanvas COMMAND …`` (console script) and ``python -m spectrocanvas``."""

import os

# Before torch loads OpenMP: idle worker threads sleep instead of spinning. On a machine whose
# cores are busy with other work, spinning threads wait on each other (sonify measured 12.4 s
# instead of 0.77 s on 2 loaded cores); on a quiet machine passive waiting costs nothing visible.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from spectrocanvas.cli.commands import main  # noqa: E402  (after the environment above)

__all__ = ["main"]
