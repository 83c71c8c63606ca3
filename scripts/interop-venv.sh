#!/usr/bin/env bash
# The Python side of `npm run test:interop`: a venv outside the repo (default ../keras-venv, or $DIGITS_VENV)
# with Keras 3 (tensorflow-cpu) and onnxruntime, installed from the machine's Python package index
# (`pip config list`). Made once, reused after. With no index to install from, it says so and the Python
# round trips are skipped (test/interop/python.test.ts reports the skip); it never skips silently.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${DIGITS_VENV:-$(cd .. && pwd)/keras-venv}"
if "$VENV/bin/python" -c "import keras, onnxruntime" 2>/dev/null; then
  echo "interop: using $VENV"
  exit 0
fi
INDEX="$(pip config list 2>/dev/null | sed -n "s/^global\.\(extra-\)\{0,1\}index-url='\([^ ']*\).*/\2/p" | head -1 || true)"
if [ -z "$INDEX" ]; then
  echo "interop: no Python package index configured (pip config list): the Keras and onnxruntime round trips will be skipped" >&2
  exit 0
fi
echo "interop: creating $VENV from $INDEX (Keras 3 + onnxruntime, ~850 MB, a few minutes, once)"
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check --index-url "$INDEX" tensorflow-cpu==2.21.0 onnxruntime
