#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter, or fail with a clear message.
# Order: $PYTHON, python3.12, python3.13, python3, then the pyenv version in .python-version.
set -u
ok() { "$1" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }
candidates=("${PYTHON:-}" python3.12 python3.13 python3)
if command -v pyenv >/dev/null 2>&1 && [ -f .python-version ]; then
  prefix=$(pyenv prefix "$(cat .python-version)" 2>/dev/null | head -1)
  [ -n "$prefix" ] && candidates+=("$prefix/bin/python3")
fi
for c in "${candidates[@]}"; do
  [ -z "$c" ] && continue
  path=$(command -v "$c" 2>/dev/null) || continue
  if ok "$path"; then
    "$path" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done
echo "error: no Python >= 3.12 with the venv module found (tried: ${candidates[*]})." >&2
echo "Install Python 3.12 (Debian: apt-get install python3.12 python3.12-venv; or pyenv install 3.12)," >&2
echo "or point PYTHON at one: make PYTHON=/path/to/python3.12 test" >&2
exit 1
