#!/usr/bin/env bash
# Serves the demo page (hub models, plus the ../shared test models at /shared/ listed at /models.json) on
# http://127.0.0.1:5173, installing deps if needed. `npm run build:demo` builds the same page as a static site.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
exec npx vite --host 127.0.0.1 "$@"
