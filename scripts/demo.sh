#!/usr/bin/env bash
# Serves the demo page (and ../shared models at /shared/) on http://localhost:5173, installing deps if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
exec npx vite --host 127.0.0.1 "$@"
