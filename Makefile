# irgraph developer tasks. Override the interpreter with: make PYTHON=python3.12 venv
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
RUNTIME := $(VENV)/.stamp-runtime
DEV     := $(VENV)/.stamp-dev

.PHONY: venv dot browser test demo figures bench lint clean distclean

# `make venv` (and test, lint, bench, figures) installs the dev extras: JAX, pytest, ruff, ...;
# `make demo` needs only the runtime dependencies, which install in a fraction of the time.
venv: $(DEV)

# Re-install only when pyproject.toml changes (or the venv is missing).
$(RUNTIME): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	@touch $@

$(DEV): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@ $(RUNTIME)

dot:
	@scripts/ensure_dot.sh

# Headless chromium and its driver, for the interactive page's browser test.
browser:
	@scripts/ensure_browser.sh

test: venv dot browser
	$(PY) -m pytest

# Runs the seed model's commands, each shown before its output (README: "Quick start").
demo: $(RUNTIME) dot
	@IRGRAPH=$(VENV)/bin/irgraph scripts/demo.sh

# The README's pictures, committed under docs/: the seed model's annotated graph with the w1 path
# highlighted and the values of examples/linear.json, its compiled forward + backward graph, and the
# loss curve of fitting examples/linreg.eq to examples/linreg.csv.
figures: venv dot browser
	@mkdir -p docs build
	$(VENV)/bin/irgraph render examples/linear.eq --wrt b,w1,w2 --highlight w1 --inputs examples/linear.json \
		-o docs/linear.svg
	$(VENV)/bin/irgraph render examples/linear.eq --wrt b,w1,w2 --highlight w1 --inputs examples/linear.json \
		--stage backward -o docs/linear-backward.svg
	$(VENV)/bin/irgraph render examples/mlp.eq --inputs examples/mlp.json --stage program -o docs/mlp-program.svg
	$(VENV)/bin/irgraph render examples/mlp.eq --inputs examples/mlp.json --stage kernels -o docs/mlp-kernels.svg
	$(VENV)/bin/irgraph render examples/linear.eq --wrt w1,b --hessian --stage backward -o docs/linear-hessian.svg
	$(PY) -m pytest -q tests/viz/test_viz_page.py -k clicking  # clicks w1 in headless chromium: build/interactive.png
	cp build/interactive.png docs/interactive.png
	$(VENV)/bin/irgraph fit examples/linreg.eq --data examples/linreg.csv --shape b=scalar,w1=scalar,w2=scalar \
		--lr 0.05 --steps 500 --val-split 0.2 -o build/learned.json --plot docs/fit-loss.png

# Reference workloads W1-W4 against hand-written NumPy (and JAX when installed); see benchmarks/README.md.
# make bench BENCH_ARGS="--quick"   or   BENCH_ARGS="--only W2,W3"
BENCH_ARGS ?=
bench: venv
	$(PY) benchmarks/run.py $(BENCH_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

# Build outputs and caches; keeps the (slow to build) venv.
clean:
	rm -rf build *.egg-info .pytest_cache .hypothesis .ruff_cache benchmarks/results
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +

# Everything, the venv included.
distclean: clean
	rm -rf $(VENV)
