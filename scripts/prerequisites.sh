#!/usr/bin/env bash
# Make sure the system tools a target needs are installed, before anything else runs.
# Usage: scripts/prerequisites.sh TOOL... (tools: dot, bwrap, chromium, git)
# Missing tools are installed with apt-get when this runs as root or with passwordless
# sudo; otherwise it stops at once with the exact command to run. Python >= 3.12 is
# checked the same way (scripts/find-python.sh).
set -euo pipefail
declare -A package=([dot]=graphviz [bwrap]=bubblewrap [chromium]=chromium [git]=git)
missing=()
for tool in "$@"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${package[$tool]}")
done
python_ok() { scripts/find-python.sh >/dev/null 2>&1; }
python_ok || missing+=(python3 python3-venv)
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; else sudo="none"; fi
fi
if [ "$sudo" != none ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing missing system packages with apt-get: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if python_ok; then exit 0; fi
  echo "error: this system's python3 is older than 3.12." >&2
  scripts/find-python.sh >/dev/null || true
  exit 1
fi
echo "error: missing system packages: ${missing[*]}" >&2
echo "Install them, then run make again:" >&2
echo "    sudo apt-get install ${missing[*]}" >&2
if ! python_ok; then scripts/find-python.sh >/dev/null || true; fi
exit 1
