#!/usr/bin/env bash
# The whole test suite on a fresh machine: PostgreSQL server binaries from Debian's packages
# (the tests start their own throwaway server), commitbench with its test extras in .venv,
# then pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
bash benchmark/install.sh test
. .venv/bin/activate
exec python -m pytest tests "$@"
