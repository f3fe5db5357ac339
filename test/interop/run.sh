#!/usr/bin/env bash
# Runs the Node interop suites (jose, the office-router Worker on workerd,
# Centrifugo with its JavaScript client, LiveKit, NATS with its Node client,
# and openid-client through the token exchange) against a gatepass binary:
# GATEPASS_BIN, or one built here. Centrifugo, livekit-server and
# nats-server come from scripts/deps.sh peers (or CENTRIFUGO_BIN,
# LIVEKIT_SERVER_BIN and NATS_SERVER_BIN).
# The PKCS#11 signer is tested on a SoftHSM2 token, which deps.sh installs
# when missing (as root) or asks for. Exits non-zero when any test fails.
# With INTEROP_JUNIT set (an absolute path), the results are also written
# there as a JUnit file, which `make test` sums with the Go suites'.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

build_dir=""
trap '[ -z "$build_dir" ] || rm -rf "$build_dir"' EXIT

if [ -z "${GATEPASS_BIN:-}" ]; then
  build_dir="$(mktemp -d)"
  echo "interop: building gatepass" >&2
  go build -o "$build_dir/gatepass" ./cmd/gatepass
  GATEPASS_BIN="$build_dir/gatepass"
fi
case "$GATEPASS_BIN" in /*) ;; *) GATEPASS_BIN="$PWD/$GATEPASS_BIN" ;; esac
if [ ! -x "$GATEPASS_BIN" ]; then
  echo "interop: GATEPASS_BIN=$GATEPASS_BIN is not an executable file" >&2
  exit 1
fi
export GATEPASS_BIN

# client builds @gatepass/client, which client.test.mjs imports.
scripts/deps.sh npm client softhsm peers

reporters=(--test-reporter=spec --test-reporter-destination=stdout)
if [ -n "${INTEROP_JUNIT:-}" ]; then
  reporters+=(--test-reporter=junit --test-reporter-destination="$INTEROP_JUNIT")
fi

cd test
# One file at a time: each starts its own servers and workerd, and the
# machine may have two cores. The per-test and overall limits keep a hung
# peer from hanging the run.
timeout --kill-after=10s 600s \
  node --test --test-concurrency=1 --test-timeout=120000 "${reporters[@]}" interop/*.test.mjs
