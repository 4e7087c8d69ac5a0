#!/usr/bin/env bash
# Make sure Debian's chromium and chromium-driver are available: the interactive page's test clicks it in a
# real headless browser (tests/viz/test_viz_page.py). Quiet on success.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
    if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
        exit 0
    fi
    echo "ensure_browser.sh: installed chromium and chromium-driver but they are still not on PATH" >&2
    exit 1
fi

cat >&2 <<'MSG'
ensure_browser.sh: chromium and chromedriver were not found on PATH.
The interactive page's test (tests/viz/test_viz_page.py) clicks it in headless Chromium. Install, e.g.:
  Debian/Ubuntu:  sudo apt-get install chromium chromium-driver
Without them that test is skipped (and fails in CI, where CI=true).
MSG
exit 1
