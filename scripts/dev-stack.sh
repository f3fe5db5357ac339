#!/usr/bin/env bash
# make dev-stack: the whole development stack on this machine (gatepass,
# livekit-server, Centrifugo, nats-server, the office-router Worker, the
# example page). This builds what it runs; test/devstack runs it (ports,
# processes, readiness, Ctrl-C). Settings: docs/development.md.
set -euo pipefail
cd "$(dirname "$0")/.."

# Installs and builds under a lock: two stacks started at once (the tests
# run two) must not run npm ci or go build over each other. The lock is
# released before the stack runs.
mkdir -p .cache
(
  flock 9
  scripts/deps.sh peers npm
  if [ -f examples/web/package.json ]; then
    # The example page, built when its sources are newer than its bundle.
    if [ ! -d examples/web/node_modules ] || [ examples/web/package-lock.json -nt examples/web/node_modules ]; then
      (cd examples/web && npm ci --no-audit --no-fund --loglevel=error)
    fi
    if [ ! -d examples/web/dist ] || [ -n "$(find examples/web clients/typescript -path '*/node_modules' -prune -o -path '*/dist' -prune -o -type f -newer examples/web/dist -print -quit 2>/dev/null)" ]; then
      (cd examples/web && npm run build)
    fi
  else
    echo "dev-stack: examples/web is not here: the page is a placeholder" >&2
  fi
  [ -n "${GATEPASS_BIN:-}" ] || make -s build
  go build -o bin/dev-stack ./test/devstack
) 9>.cache/dev-stack.lock
exec bin/dev-stack
