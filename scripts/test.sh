#!/usr/bin/env bash
# Install podwall with its test dependencies into .venv and run every test.
# Lab tests (marker "lab") need root, nftables, iproute2 and conntrack; as non-root they are
# deselected automatically with a note (or pass -m "not lab" yourself).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip >/dev/null
.venv/bin/pip install -q -e ".[test]"
exec .venv/bin/python -m pytest "$@"
