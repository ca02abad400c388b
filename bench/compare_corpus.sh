#!/usr/bin/env bash
# Compare our parser with CPython on any folder of .py files (e.g. site-packages): identical dumps or both rejected.
# Usage: bench/compare_corpus.sh DIR [--show N] [--mismatches FILE]
set -euo pipefail
exec python3 "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/compare_corpus.py" "$@"
