#!/usr/bin/env bash
# Create or refresh .venv from requirements.lock and install the companion package into it.
set -euo pipefail
python=$(scripts/find-python.sh)
want=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ -x .venv/bin/python ]; then
  have=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo none)
  if [ "$have" != "$want" ]; then
    echo "Recreating .venv (it has Python $have, want $want)"
    rm -rf .venv
  fi
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv
uv_pin=$(grep -E '^uv==' requirements.lock)
.venv/bin/python -m pip install --quiet --disable-pip-version-check "$uv_pin"
# --compile-bytecode: the .pyc files are written once here. Without them every process
# compiles what it imports anew where bytecode cannot be written: in the grading sandbox
# (read-only venv, PYTHONDONTWRITEBYTECODE) that is half of a submission's import time.
.venv/bin/uv pip sync --quiet --compile-bytecode --python .venv/bin/python requirements.lock
.venv/bin/uv pip install --quiet --python .venv/bin/python --no-deps --editable .
echo "Environment ready: .venv (Python $want, packages from requirements.lock)"
