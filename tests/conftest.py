"""Test setup: never reach the network, use a throwaway HF cache, and let tests import tiny_models."""

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

# Before anything imports huggingface_hub (it reads these at import time).
os.environ["HF_HUB_OFFLINE"] = "1"
_CACHE = tempfile.mkdtemp(prefix="spectrocanvas-hf-cache-")
os.environ["HF_HUB_CACHE"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)

sys.path.insert(0, str(Path(__file__).parent))

# Tiny models gain nothing from a second thread, and when another process holds a core, torch's
# two threads spin-wait on each other (7-40x slower measured): one thread keeps the suite's time
# steady on a shared 2-core machine.
import torch  # noqa: E402

torch.set_num_threads(1)
