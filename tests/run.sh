#!/usr/bin/env bash
# The whole test suite on a fresh machine: PostgreSQL server binaries from Debian's packages
# (the tests start their own throwaway server), commitbench with its test extras in .venv,
# then pytest (both tiers; the 30 slowest tests are listed at the end). Extra arguments go to
# pytest: `-m "not slow"` runs the fast tier alone.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian's packages: PostgreSQL (a real server per test session), Chromium (the HTML report is
# checked in a real headless browser), docker-compose (`config -q` validates docker-compose.yml
# without a container engine).
NEED=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || NEED+=(postgresql)
command -v chromium >/dev/null 2>&1 || NEED+=(chromium)
command -v docker-compose >/dev/null 2>&1 || NEED+=(docker-compose)
if [ ${#NEED[@]} -gt 0 ]; then
  SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${NEED[@]}" >/dev/null
fi
bash benchmark/install.sh test
. .venv/bin/activate
exec python -m pytest tests --durations=30 "$@"
