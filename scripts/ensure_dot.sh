#!/usr/bin/env bash
# Make sure Graphviz's `dot` binary is available. Quiet on success.
set -euo pipefail

if command -v dot >/dev/null 2>&1; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null
    if command -v dot >/dev/null 2>&1; then
        exit 0
    fi
    echo "ensure_dot.sh: installed the graphviz package but 'dot' is still not on PATH" >&2
    exit 1
fi

cat >&2 <<'MSG'
ensure_dot.sh: Graphviz's 'dot' program was not found on PATH.
Install Graphviz (the system package, not only the Python binding), e.g.:
  Debian/Ubuntu:  sudo apt-get install graphviz
  macOS:          brew install graphviz
  conda:          conda install -c conda-forge graphviz
Then check with: dot -V
MSG
exit 1
