"""``python -m spectrocanvas …``: the command line (what `accelerate launch -m spectrocanvas` runs)."""

import sys

from spectrocanvas.cli import main

sys.exit(main())
