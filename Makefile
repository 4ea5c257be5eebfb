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

.PHONY: help install book test test-unit test-notebooks test-book test-browser browser-deps bench bench-install seeds clean

help:
	@echo "make book    install, then build the executed book into _build/html"
	@echo "make test    install, then unit tests, every notebook (nbval), the executed book build"
	@echo "             and the browser test of the built book (make test-browser)"
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
	$(ONE_THREAD) $(VENV)/bin/jupyter-book build . -W -n --keep-going
	$(PY) tools/check_book.py _build/html
	@echo "The book is at $(CURDIR)/_build/html/index.html"

# Each notebook runs once per `make test`. nbval executes it (the notebook test), and
# tools/nbval_record.py keeps the outputs and widget state of every notebook that passed in
# _build/executed; tools/cache_executed.py puts those into the book's execution cache, so the
# executed book that follows (-W, jupyter-cache) takes its outputs from there instead of running
# each notebook again (a notebook that failed or changed since is executed by the build).
# pytest runs on every core (xdist; --dist loadfile keeps a notebook's cells on one kernel), with
# one thread per process: PyTorch's thread pool on a core another process holds makes small
# kernels wait on each other (the book's build runs its notebooks on one thread for the same
# reason). On 2 quiet cores this pytest run, notebooks included, took 3 minutes (AMD EPYC).
# Then checks on the built book and the book in a browser. -rs prints why a test was skipped
# (e.g. no Chromium on this machine).
BUILT_BOOK_TESTS := --ignore=tests/test_book.py --ignore=tests/test_api_reference.py \
  --ignore=tests/test_browser.py --ignore=tests/test_pdf.py
EXECUTED := _build/executed
ONE_THREAD := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
NBVAL := --nbval-lax --nbval-current-env --nbval-cell-timeout=600
test: $(STAMP)
	rm -rf $(EXECUTED)
	$(ONE_THREAD) PYTHONPATH=tools $(PY) -m pytest tests notebooks $(BUILT_BOOK_TESTS) $(NBVAL) \
	  -p nbval_record --nbval-record=$(EXECUTED) -n auto --dist loadfile -p no:cacheprovider -q -rs
	$(PY) tools/cache_executed.py $(EXECUTED)
	$(MAKE) --no-print-directory book
	$(MAKE) --no-print-directory test-book
	$(MAKE) --no-print-directory test-browser

test-unit: $(STAMP)
	$(ONE_THREAD) $(PY) -m pytest tests $(BUILT_BOOK_TESTS) -n auto --dist loadfile -q

# pytest exits 5 when it collects nothing (an empty notebooks/): that is not a failure.
test-notebooks: $(STAMP)
	$(ONE_THREAD) $(PY) -m pytest notebooks $(NBVAL) -n auto --dist loadfile -p no:cacheprovider -q; \
	  rc=$$?; if [ $$rc -eq 5 ]; then echo "no notebooks to run"; exit 0; fi; exit $$rc

# checks on the executed book in _build/html (make book builds it)
test-book: $(STAMP)
	$(PY) -m pytest tests/test_book.py tests/test_api_reference.py -p no:cacheprovider -q -rs

# MathJax, require.js and the widget manager for the browser test, pinned by package-lock.json.
# Without npm the browser test skips (and says so) instead; CI installs node and Chromium.
BROWSER_DEPS := tools/browser/node_modules/.package-lock.json
$(BROWSER_DEPS): tools/browser/package.json tools/browser/package-lock.json
	@if command -v npm >/dev/null; then cd tools/browser && npm ci --no-audit --no-fund --ignore-scripts; \
	  else echo "npm not found: the browser test will skip (install node and npm to run it)"; fi

browser-deps: $(BROWSER_DEPS)

# The executed book (make book) in headless Chromium at 1280 and 390 px: every page.
# Needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver).
test-browser: $(STAMP) browser-deps
	@test -f _build/html/search.html || { echo "no built book in _build/html: run make book first"; exit 1; }
	$(PY) -m pytest tests/test_browser.py -p no:cacheprovider -q -rs

# The whole book as one PDF: _build/latex/statlearn.pdf, from the same executed notebooks as
# make book (cached by jupyter-cache). Jupyter Book's LaTeX builder (its pdflatex builder's
# first half; that builder reports success even when LaTeX fails), then XeLaTeX via latexmk.
# Needs TeX Live (Debian: texlive-xetex texlive-latex-extra texlive-fonts-recommended latexmk
# fonts-freefont-otf fonts-dejavu-core); make test-pdf checks it with poppler-utils.
PDF := _build/latex/statlearn.pdf
.PHONY: pdf test-pdf
pdf: $(STAMP)
	$(VENV)/bin/jupyter-book build . --builder latex -W -n --keep-going
	$(MAKE) --no-print-directory -C _build/latex all-pdf LATEXMKOPTS="-interaction=nonstopmode -halt-on-error"
	@echo "The PDF is at $(CURDIR)/$(PDF)"

test-pdf: $(STAMP)
	$(PY) -m pytest tests/test_pdf.py -p no:cacheprovider -q -rs

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
	rm -rf $(VENV) .venv-colab _build .pytest_cache .hypothesis .jupyter_cache
	find . -name __pycache__ -prune -exec rm -rf {} +

# Colab rehearsal: every notebook in Colab's package versions (constraints/colab.txt) in a
# venv of its own, .venv-colab; see tools/colab_rehearsal.sh.
.PHONY: test-colab
test-colab:
	PYTHON=$(PYTHON) tools/colab_rehearsal.sh
