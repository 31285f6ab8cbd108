# Set-up on a fresh machine with only Python 3.11:  make demo  |  make test
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: install demo test test-slow test-browser bench bench-ui clean

install: $(STAMP)

# Every install goes through constraints.txt, which pins torch to the CPU wheel 2.13.0.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e '.[dev]'
	$(PIP) check
	touch $(STAMP)

demo: install
	$(VENV)/bin/spectrocanvas demo -o demo-output --overwrite

# The quick suite (what a user runs; under 3 minutes on 2 cores). The slow tests (the shipped pocket
# weights' quality floors, the whole demo) run with test-slow; the web page in headless Chromium with
# test-browser (skipped, with the reason, where no Chromium is installed); CI runs all three.
test: install
	$(PY) -m pytest -q -m "not slow and not browser"

test-slow: install
	$(PY) -m pytest -q -m "slow and not browser"

test-browser: install
	$(PY) -m pytest -q -rs -m browser

bench: install
	$(PY) benchmarks/bench_griffinlim.py

bench-ui: install
	$(PY) benchmarks/bench_ui.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache
