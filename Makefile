# statlearn: the two commands are `make book` and `make test`.
# Both create .venv when it is missing and install statlearn with the exact pins in constraints/ci.txt.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
PINS   := constraints/ci.txt
STAMP  := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
export PYTHONHASHSEED := 0

.PHONY: help install book test test-unit test-notebooks test-book bench bench-install seeds clean

help:
	@echo "make book    install, then build the executed book into _build/html"
	@echo "make test    install, then unit tests, every notebook (nbval) and the book check"
	@echo "make bench   install the anchor libraries, then run benchmarks/"
	@echo "make seeds   run every notebook with SEED = 0, 1, 2 (the chapters' claims must hold for each)"
	@echo "make clean   remove .venv, _build and caches"

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch first and alone, so that nothing resolves it to a multi-GB CUDA build.
$(STAMP): $(PY) pyproject.toml $(PINS)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c $(PINS) torch
	$(PIP) install --quiet -c $(PINS) -e ".[book,test]"
	touch $(STAMP)

install: $(STAMP)

book: $(STAMP)
	$(VENV)/bin/jupyter-book build . -W -n --keep-going
	$(PY) tools/check_book.py _build/html
	@echo "The book is at $(CURDIR)/_build/html/index.html"

test: $(STAMP)
	$(PY) -m pytest tests notebooks --nbval-lax --nbval-current-env --nbval-cell-timeout=600 -p no:cacheprovider -q

test-unit: $(STAMP)
	$(PY) -m pytest tests -q

# pytest exits 5 when it collects nothing (an empty notebooks/): that is not a failure.
test-notebooks: $(STAMP)
	$(PY) -m pytest notebooks --nbval-lax --nbval-current-env --nbval-cell-timeout=600 -p no:cacheprovider -q; \
	  rc=$$?; if [ $$rc -eq 5 ]; then echo "no notebooks to run"; exit 0; fi; exit $$rc

test-book: $(STAMP)
	$(PY) -m pytest tests/test_book.py -q

seeds: $(STAMP)
	$(PY) tools/run_notebook.py notebooks/*.ipynb --seed 0 1 2

$(BENCH_STAMP): $(STAMP)
	$(PIP) install --quiet -c $(PINS) -e ".[bench]"
	$(PIP) install --quiet --no-deps pomegranate==1.1.2 apricot-select==0.6.1 torchattacks==3.5.1
	touch $(BENCH_STAMP)

bench-install: $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	@set -e; for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f; done

clean:
	rm -rf $(VENV) _build .pytest_cache .hypothesis .jupyter_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
