#!/bin/sh
# Re-make docs/report.png: the HTML review report of the bundled demo scenario (fixtures/demo),
# as Debian's chromium renders it headless. Needs `apt-get install chromium`; run from anywhere.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$repo/fixtures/demo"
# check exits 1 when something needs a person (the demo has two conflicts): that is expected.
"$repo/.venv/bin/patchsmith" check patch-6.1.999.diff --tree vendor \
    --report html -o "$work/report.html" >/dev/null || [ $? -eq 1 ]
chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run \
    --user-data-dir="$work/profile" --hide-scrollbars \
    --screenshot="$repo/docs/report.png" --window-size=1280,900 \
    "file://$work/report.html" 2>/dev/null
ls -l "$repo/docs/report.png"
