#!/usr/bin/env bash
# Runs the browser test: the example page (examples/web) in Debian's
# Chromium, driven by playwright-core, against scripts/dev-stack.sh. The
# stack, its static server and Chromium run inside one network namespace
# made here (root only: CI runs as root). Chromium offers no loopback ICE
# candidates, so the namespace has a veth pair with 10.200.0.1, which
# livekit-server announces for WebRTC; everything else stays on loopback,
# and no packet leaves the namespace.
# GATEPASS_BIN is the gatepass under test (built here when unset). With
# BROWSER_JUNIT set (an absolute path) the results are also written there
# as a JUnit file; the screenshots go to BROWSER_ARTIFACTS (default
# .cache/test-results). Exits non-zero when any test fails; never skips.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

# The namespace's address: livekit-server's rtc.node_ip and the address
# Chromium's host candidates come from.
NETNS_IP=10.200.0.1

if [ "${1:-}" = "--in-namespace" ]; then
  # Inside the new network namespace: loopback up, a veth pair with
  # NETNS_IP on one end, both ends up, and a default route through it (a
  # browser looks its local addresses up by the route to a public one).
  shift
  ip link set lo up
  ip link add gpb0 type veth peer name gpb1
  ip addr add "$NETNS_IP/24" dev gpb0
  ip link set gpb0 up
  ip link set gpb1 up
  ip route add default dev gpb0
  exec "$@"
fi

fail() { echo "browser: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root to make its network namespace (unshare -n); run as root, as CI does"
command -v unshare >/dev/null || fail "needs unshare (util-linux)"
command -v ip >/dev/null || fail "needs ip (iproute2): apt-get install -y iproute2"

build_dir=""
trap '[ -z "$build_dir" ] || rm -rf "$build_dir"' EXIT
if [ -z "${GATEPASS_BIN:-}" ]; then
  build_dir="$(mktemp -d)"
  echo "browser: building gatepass" >&2
  go build -o "$build_dir/gatepass" ./cmd/gatepass
  GATEPASS_BIN="$build_dir/gatepass"
fi
case "$GATEPASS_BIN" in /*) ;; *) GATEPASS_BIN="$PWD/$GATEPASS_BIN" ;; esac
[ -x "$GATEPASS_BIN" ] || fail "GATEPASS_BIN=$GATEPASS_BIN is not an executable file"
export GATEPASS_BIN NETNS_IP
export BROWSER_ARTIFACTS="${BROWSER_ARTIFACTS:-$root/.cache/test-results}"
mkdir -p "$BROWSER_ARTIFACTS"

# Everything that needs the registries happens here, before the namespace,
# which has no way out: Chromium, the npm packages (of scripts/dev-stack.sh
# too: npm), the peers, the page, and dev-stack's runner (so that its build
# finds every module in the cache).
scripts/deps.sh browser peers npm
(cd examples/web && npm run --silent build)
go build -o /dev/null ./test/devstack

reporters=(--test-reporter=spec --test-reporter-destination=stdout)
if [ -n "${BROWSER_JUNIT:-}" ]; then
  reporters+=(--test-reporter=junit --test-reporter-destination="$BROWSER_JUNIT")
fi

# The overall limit keeps a hung browser or stack from hanging the run;
# the test's own limits come first and say what hung. The test runs as the
# first process of a PID namespace too: when it ends, however it ends, the
# kernel ends every process started inside (the stack, Chromium).
timeout --kill-after=15s 480s \
  unshare --net --pid --fork --kill-child -- "$0" --in-namespace \
  node --test --test-concurrency=1 --test-timeout=300000 "${reporters[@]}" test/browser/*.test.mjs
