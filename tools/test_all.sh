#!/usr/bin/env bash
# The whole test suite, as the README's second command and .ci/run call it:
# 1. notebooks and library in sync (nbdev-export and nbdev-clean leave no diff), README generated from nbs/index.ipynb
# 2. every notebook runs (nbdev-test; cells flagged slow/internet/cuda are skipped)
# 3. pytest: end-to-end, command-line, fault and real-photo tests, and the docs site built and opened in headless Chromium
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${VENV:-.venv}/bin"
export MPLBACKEND=Agg PYTHONWARNINGS="ignore::FutureWarning"
# Notebooks and tests write models and checkpoints to temporary folders (about 3 GB a run): keep them all in one
# folder that is removed however the run ends, so that repeated runs never fill the disk.
TMPDIR="$(mktemp -d "${TMPDIR:-/tmp}/namethatdog-tests.XXXXXX")"; export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT

state() { git diff --no-ext-diff; git status --porcelain --untracked-files=all; }
echo "== sync: nbdev-export, nbdev-clean, README"
before="$(state)"
"$bin/nbdev-export"
"$bin/nbdev-clean"
"$bin/python" tools/readme.py
after="$(state)"
if [ "$before" != "$after" ]; then
  echo "FAIL: nbdev-export / nbdev-clean / tools/readme.py changed files: notebooks, library and README are not in sync"
  diff <(echo "$before") <(echo "$after") | head -50 || true
  exit 1
fi

echo "== nbdev-test"
"$bin/nbdev-test" --do-print

echo "== pytest"
set +e
"$bin/python" -m pytest -q -rs tests
rc=$?
set -e
if [ $rc -eq 5 ]; then echo "FAIL: pytest collected no tests; the suite must not be empty"; exit 1; fi
exit $rc
