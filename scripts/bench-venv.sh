#!/usr/bin/env bash
# bench-venv.sh [DIR] — the Python virtual environment (default .venv-bench/) in which `make bench-compare` runs the
# original ExPLAIND package and `make lds-crosscheck` runs dattri: pip `explaind==0.1.0` (needs Python >= 3.12),
# `dattri` and `torch` (CPU use only; PyPI's wheel also brings CUDA libraries, several GB, installed once).
# Nothing is done when DIR/.installed exists and dattri imports there (an older venv without dattri gets it added).
# The interpreter: $BENCH_PYTHON if set, else the first python3.12/python3.13/python3 on PATH (pyenv shims included)
# that is >= 3.12 and has venv, else ~/.pyenv/versions/3.1[2-9]*. pip honours PIP_INDEX_URL / PIP_EXTRA_INDEX_URL
# (for example a CPU-only torch index).
set -euo pipefail

DIR="${1:-.venv-bench}"
if [ -f "$DIR/.installed" ]; then
  "$DIR/bin/python" -c 'import dattri' >/dev/null 2>&1 && exit 0
  echo "bench-venv: adding dattri to $DIR"
  "$DIR/bin/pip" install --quiet dattri && "$DIR/bin/python" -c 'import dattri, torch' \
    || { echo "bench-venv: dattri does not install or import in $DIR; remove $DIR and retry" >&2; exit 1; }
  "$DIR/bin/pip" freeze > "$DIR/.installed"
  exit 0
fi

usable() { "$1" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }

PY="${BENCH_PYTHON:-}"
if [ -n "$PY" ]; then
  usable "$PY" || { echo "bench-venv: BENCH_PYTHON=$PY is not a Python >= 3.12 with venv; point it at one" >&2; exit 1; }
else
  for candidate in python3.12 python3.13 python3 \
                   "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3 /root/.pyenv/versions/3.1[2-9]*/bin/python3; do
    if command -v "$candidate" >/dev/null 2>&1 && usable "$candidate"; then PY="$candidate"; break; fi
    # a pyenv shim for an inactive version: ask for that version explicitly
    version=$(echo "$candidate" | sed -n 's/^python\(3\.1[2-9]\)$/\1/p')
    if [ -n "$version" ] && command -v pyenv >/dev/null 2>&1; then
      full=$(pyenv versions --bare 2>/dev/null | grep "^$version" | tail -1 || true)
      if [ -n "$full" ] && PYENV_VERSION="$full" usable "$candidate"; then PY="$(PYENV_VERSION="$full" pyenv which "$candidate")"; break; fi
    fi
  done
fi
[ -n "$PY" ] || { echo "bench-venv: no Python >= 3.12 with venv found (explaind needs it); install one (apt: python3.12-venv, or pyenv) or set BENCH_PYTHON" >&2; exit 1; }

echo "bench-venv: creating $DIR with $PY ($("$PY" --version 2>&1))"
start=$(date +%s)
"$PY" -m venv "$DIR"
"$DIR/bin/pip" install --quiet --upgrade pip
"$DIR/bin/pip" install --quiet "explaind==0.1.0" torch dattri h5py
"$DIR/bin/python" -c 'import torch, explaind.epk_model, dattri, h5py' \
  || { echo "bench-venv: explaind, dattri, h5py or torch does not import in $DIR; remove $DIR and retry" >&2; exit 1; }
"$DIR/bin/pip" freeze > "$DIR/.installed"
echo "bench-venv: ready in $(( $(date +%s) - start )) s (torch $("$DIR/bin/python" -c 'import torch; print(torch.__version__)'))"
