#!/usr/bin/env bash
# `make demo`: run, compile and render the seed model (examples/linear.eq), each command shown first.
# The README's "Quick start" shows this script's output; tests/test_quickstart.py checks that it matches.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
IRGRAPH=${IRGRAPH:-.venv/bin/irgraph}

gap=""
irgraph() {
    printf '%s$ irgraph %s\n' "$gap" "$*"
    "$IRGRAPH" "$@" 2>&1
    gap=$'\n'
}

mkdir -p build
irgraph run examples/linear.eq --inputs examples/linear.json
irgraph compile examples/linear.eq --wrt b,w1,w2 --stats -o build/linear_grad.py
irgraph render examples/linear.eq --inputs examples/linear.json --highlight w1 -o build/linear.svg
