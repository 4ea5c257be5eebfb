#!/usr/bin/env bash
# Colab rehearsal (`make test-colab`): every chapter run in Colab's package versions.
#
# 1. .venv-colab: Colab's runtime as constraints/colab.txt records it (numpy, scipy,
#    scikit-learn, matplotlib, tqdm, IPython 7.34, ipykernel 6.17.1, ipywidgets 7.7.1, ...),
#    with torch 2.13.0 CPU standing in for Colab's torch, and Python 3.11 for its 3.13.
#    Rebuilt when constraints/colab.txt changes.
# 2. statlearn installed as a notebook's first cell installs it on Colab: `pip install
#    --no-deps daft-pgm "statlearn-book @ <source>"`, from a wheel of this working tree
#    instead of the git tag. It may only add those two, and `pip check` must then find
#    every requirement of statlearn met by Colab's versions.
# 3. tests/test_frames.py (the ipywidgets 7 slider) and every notebook under nbval there,
#    two kernels at a time, one thread each.
#
# Environment: PYTHON (default python3), COLAB_WORKERS (default 2), COLAB_VENV (.venv-colab).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${COLAB_VENV:-.venv-colab}"
PINS=constraints/colab.txt
STAMP="$VENV/.installed"
WORKERS="${COLAB_WORKERS:-2}"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONHASHSEED=0
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PYDEVD_DISABLE_FILE_VALIDATION=1  # ipykernel 6.17's debugpy warns at each start
PY="$VENV/bin/python"
t0=$(date +%s)

if [ ! -f "$STAMP" ] || [ "$PINS" -nt "$STAMP" ]; then
  echo "== building $VENV: Colab's runtime from $PINS, torch 2.13.0 CPU as its stand-in"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$PY" -m pip install --quiet --upgrade pip
  "$PY" -m pip install --quiet torch==2.13.0  # first and alone: never a CUDA build
  "$PY" -m pip install --quiet -c "$PINS" numpy scipy scikit-learn matplotlib tqdm \
    ipython ipykernel ipywidgets notebook pytest nbval pytest-xdist
  touch "$STAMP"
fi

# statlearn as the first cell installs it, from a wheel of the working tree (tracked and
# untracked files that git does not ignore, as a clone would have them)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/src"
git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$tmp/src"
"$PY" -m pip wheel --quiet --no-deps -w "$tmp/wheel" "$tmp/src"
wheel=$(ls "$tmp"/wheel/statlearn_book-*.whl)
"$PY" -m pip uninstall --quiet -y statlearn-book 2>/dev/null || true
"$PY" -m pip freeze --all | sort > "$tmp/before.txt"
"$PY" -m pip uninstall --quiet -y daft-pgm 2>/dev/null || true  # not on Colab
"$PY" -m pip freeze --all | sort > "$tmp/before.txt"
"$PY" -m pip install --quiet --no-deps daft-pgm "statlearn-book @ file://$wheel"
"$PY" -m pip freeze --all | sort > "$tmp/after.txt"
if comm -23 "$tmp/before.txt" "$tmp/after.txt" | grep .; then
  echo "installing statlearn changed the packages above, which Colab has"
  exit 1
fi
"$PY" -m pip check  # every requirement of statlearn met at Colab's versions
echo "== statlearn added: $(comm -13 "$tmp/before.txt" "$tmp/after.txt" | tr '\n' ' ')"
"$PY" -P - <<'PYEOF'
import ipywidgets, IPython, numpy, scipy, sklearn, matplotlib, torch, statlearn
print("== rehearsing with", ", ".join(f"{m.__name__} {m.__version__}" for m in
      (ipywidgets, IPython, numpy, scipy, sklearn, matplotlib, torch, statlearn)))
assert "site-packages" in statlearn.__file__, statlearn.__file__
PYEOF
t1=$(date +%s)

# -P: the installed statlearn, not the checkout's; kernels start in notebooks/
rc=0
"$PY" -P -m pytest tests/test_frames.py notebooks --nbval-lax --nbval-current-env \
  --nbval-cell-timeout=600 -p no:cacheprovider -q -rs -n "$WORKERS" --dist loadfile || rc=$?
t2=$(date +%s)
echo "== Colab rehearsal: install $((t1 - t0)) s, tests $((t2 - t1)) s, exit $rc"
exit $rc
