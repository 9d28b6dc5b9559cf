# Two entry points, both self-contained on a fresh machine with Python 3.11:
#   make book   - create .venv, install the pinned requirements and the kit, build _build/html
#   make test   - the same set-up, then lint, unit tests, strict build, browser tests (the site
#                 and, on a fresh Binder-like environment, JupyterLab)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# Strict: warnings are errors (-W), broken references too (-n); report them all (--keep-going).
BOOK_FLAGS := -W -n --keep-going
# On 2 cores a multithreaded OpenBLAS competes with XLA's own threads and roughly doubles the
# time of the linear class's SVDs; one BLAS thread is faster for the book's small matrices.
export OPENBLAS_NUM_THREADS := 1
# The kit checks arguments once, at the entry point a reader calls; nested calls trust them.
# Builds and tests audit that: nested checks run too, and one that fails is an error naming the
# entry point that let the value through (srlm_kit/_validation.py).
export SRLM_KIT_AUDIT_NESTED := 1

.PHONY: book test lint unit check browser binder notebooks assets clean bench assignments

# requirements.txt is the reader's environment (what Binder installs); requirements-dev.txt adds
# the site build, the tests, the linter and the grading stack.
$(INSTALLED): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip check
	touch $@

# Self-hosted JavaScript (plotly.js, MathJax): copied from installed packages into _vendor/.
assets: $(INSTALLED)
	$(BIN)/python tools/vendor_assets.py

# JAX's persistent compilation cache for the chapters' kernels: chapters run many of the same
# simulations (same functions, same shapes), and with the cache each is compiled once per build,
# not once per chapter. It lives outside _build, so the next build, even from an empty _build,
# loads what the last one compiled (compilation is over half of the build's CPU time). A
# cached executable is the program that would have been compiled, so no number changes; its key
# holds the program, the compile options and JAX's version, so a change in the kit compiles
# afresh (and adds entries: `make clean` empties the cache).
JAX_CACHE := $(CURDIR)/.jax-cache
JAX_CACHE_ENV := JAX_COMPILATION_CACHE_DIR=$(JAX_CACHE) JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 \
	JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES=0

# `jupyter-book build` with the pages read (executed) two at a time, one per core
# (tools/build_book.py); BOOK_JOBS=1 builds one page after another.
BOOK_JOBS ?= 2
book: $(INSTALLED) assets
	$(JAX_CACHE_ENV) BOOK_JOBS=$(BOOK_JOBS) $(BIN)/python tools/build_book.py . $(BOOK_FLAGS)

lint: $(INSTALLED)
	$(BIN)/ruff check srlm_kit tests benchmarks tools

# Two pytest-xdist workers taking whole files, as in `make check` (below): the classroom file
# runs on one worker (grading two assignments at a time) while the other works through the rest.
unit: $(INSTALLED)
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not browser and not binder" -q

# Everyday check: lint and the unit tests without the slow ones (chapter-sized grids, classroom
# grading, wheel build, several processes or devices), the site build and the browser.
# Two pytest-xdist workers (the 2 cores), whole files per worker (--dist loadfile) so that a
# module's fixtures are computed once, not once per worker.
check: lint
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not slow and not browser and not binder" -q

# The slider tests recompute the figures' experiments with the kit: with the build's JAX cache
# they load the simulations the chapters compiled instead of compiling them again.
browser: $(INSTALLED)
	$(JAX_CACHE_ENV) $(BIN)/python tools/run_browser_tests.py

# The reader's notebooks (what postBuild makes on Binder), into notebooks/.
notebooks: $(INSTALLED)
	$(BIN)/python tools/make_notebooks.py

# Binder as a reader meets it: a fresh environment from requirements.txt and postBuild, a real
# JupyterLab, chapters opened through the built site's launch URLs (needs _build/html).
binder: $(INSTALLED)
	$(BIN)/python -m pytest -p no:playwright -m binder -q tests/test_binder_lab.py

test: lint unit book browser binder

bench: $(INSTALLED)
	$(BIN)/python benchmarks/bench_kit.py

# Classroom: student notebooks and autograders, from classroom/source, into _build/classroom
# (see book/classroom/instructor_guide.md). Fails unless every reference solution scores full marks.
assignments: $(INSTALLED)
	$(BIN)/python tools/make_assignments.py

clean:
	rm -rf _build _vendor notebooks .pytest_cache .hypothesis .jax-cache
