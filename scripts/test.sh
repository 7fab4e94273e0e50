#!/usr/bin/env bash
# Install podwall with everything its tests need, check types and lint (mypy --strict, ruff),
# then run every test. A mypy or ruff finding fails the run before pytest starts.
#  - Python: a virtualenv in .venv with podwall and its test extras.
#  - System (lab tests): nftables, iproute2 and conntrack, installed with apt-get when running
#    as root and they are missing. Lab tests (marker "lab") need root; without root they skip
#    with a reason. Deselect them explicitly with:  bash scripts/test.sh -m "not lab"
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  missing=""
  command -v nft >/dev/null 2>&1 || missing="$missing nftables"
  command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
  command -v conntrack >/dev/null 2>&1 || missing="$missing conntrack"
  if [ -n "$missing" ]; then
    echo "installing:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y -qq $missing >/dev/null
  fi
fi
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".[test]"
# Code health gates: both must be clean before any test runs (config in pyproject.toml).
.venv/bin/python -m mypy --strict src/podwall
.venv/bin/python -m ruff check src tests bench
exec .venv/bin/python -m pytest "$@"
