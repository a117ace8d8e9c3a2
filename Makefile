# robomem: `make demo` runs the main job, `make test` runs the test suite.
# Both create/refresh the virtualenv in .venv first (pinned pip packages + missing Debian packages).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.robomem-installed
export OPENBLAS_NUM_THREADS ?= 1
export NUMBA_CACHE_DIR ?= $(CURDIR)/.numba_cache

.PHONY: venv test demo bench sim clean

venv: $(STAMP)

$(STAMP): requirements.txt constraints.txt scripts/ensure_system_deps.sh setup.py
	bash scripts/ensure_system_deps.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

test: venv
	$(VENV)/bin/pytest

demo: venv
	$(PY) examples/demo.py

bench: venv
	$(PY) benchmarks/octree_vs_octomap.py
	$(PY) benchmarks/sim_render.py
	$(PY) benchmarks/perception.py
	$(PY) benchmarks/memory_store.py

sim: venv
	$(PY) -m sim --out out/sim

clean:
	rm -rf $(VENV) .numba_cache build *.egg-info
