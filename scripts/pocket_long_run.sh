#!/usr/bin/env bash
# The long pocket training, one model after another on one thread, resumable: run it again
# (after a stop, a reboot or in a later session) and every model continues from its checkpoint.
#
#   scripts/pocket_long_run.sh [RUNS_DIR]        (default /work/pocket-runs)
#
# Then ship the weights:  python -m spectrocanvas.pairs.pocket.training.export --run RUNS_DIR/image --run RUNS_DIR/audio \
#                             --run RUNS_DIR/image-classifier --run RUNS_DIR/audio-classifier
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-/work/pocket-runs}"
PY="${PYTHON:-python}"
mkdir -p "$RUNS"
train() {  # model steps
  PYTHONPATH=src nice -n 10 "$PY" -m spectrocanvas.pairs.pocket.training.train --model "$1" --steps "$2" --out "$RUNS/$1" \
    --threads 1 --checkpoint-minutes 5 >> "$RUNS/$1.stdout" 2>&1
}
train image-classifier 1500
train audio-classifier 1500
train image 20000
train audio 23000  # the shipped audio model resumed from 18,141 steps with --steps 23000 (third session)
