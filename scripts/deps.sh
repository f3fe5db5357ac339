#!/usr/bin/env bash
# Installs what the tests need on a fresh machine, or stops with a clear
# message when it cannot. Each tool is checked first; nothing is installed
# twice. Usage: scripts/deps.sh [redis] [softhsm] [npm] [client] [peers]
# [promtool] [wrk] [shell] [chromium] [browser] (none: all the tests need;
# client builds the TypeScript client of clients/typescript; wrk is make
# bench's load generator; shell is curl and jq, which the README's
# quickstart uses; chromium is Debian's browser the browser test drives,
# browser also the npm packages of that test and of examples/web).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'deps: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

apt_updated=""
apt_install() {
  if [ "$(id -u)" != 0 ]; then
    die "need the Debian package(s) $*; run as root or install them: apt-get install -y $*"
  fi
  command -v apt-get >/dev/null || die "need $* but this machine has no apt-get; install them by hand"
  if [ -z "$apt_updated" ]; then
    say "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || die "apt-get update failed"
    apt_updated=1
  fi
  say "installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || die "apt-get install $* failed"
}

# --- redis (rate-limit tests) ---
need_redis() {
  # redis-cli (redis-tools) builds the test clusters.
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    apt_install redis-server redis-tools
  fi
}

# --- softhsm (PKCS#11 signer tests) ---
need_softhsm() {
  if [ ! -e /usr/lib/softhsm/libsofthsm2.so ] || ! command -v softhsm2-util >/dev/null; then
    apt_install softhsm2
  fi
}

# --- promtool (the alert rules of deploy/monitoring) ---
need_promtool() {
  command -v promtool >/dev/null || apt_install prometheus
}

# --- wrk (make bench's HTTP load generator) ---
need_wrk() {
  command -v wrk >/dev/null || apt_install wrk
}

# --- shell (curl and jq: the README's quickstart, run by test/docs) ---
need_shell() {
  local missing=()
  command -v curl >/dev/null || missing+=(curl)
  command -v jq >/dev/null || missing+=(jq)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

# --- chromium (the browser test: Debian's build, never a downloaded one) ---
need_chromium() {
  command -v chromium >/dev/null || apt_install chromium
  # The browser test's network namespace: ip (iproute2) and unshare (util-linux).
  command -v ip >/dev/null || apt_install iproute2
  command -v unshare >/dev/null || apt_install util-linux
  chromium --version >/dev/null 2>&1 || die "chromium is installed but does not run: chromium --version failed"
}

# --- node (the interop tests and the TypeScript client) ---
need_node() {
  command -v node >/dev/null || die "need Node.js 20.18.1 or later (node) for the interop tests"
  command -v npm >/dev/null || die "need npm for the interop tests"
  # miniflare's HTTP client (undici 7) needs 20.18.1; Debian's nodejs is older.
  node -e 'const [a,b,c]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&(b>18||(b===18&&c>=1)))?0:1)' \
    || die "need Node.js 20.18.1 or later for the interop tests, found $(node --version)"
}

# npm_ci DIR runs npm ci in DIR only when its lock file changed since the
# last install there.
npm_ci() {
  local dir="$1"
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.gatepass-lock"; then
    say "npm ci in $dir/"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in $dir/"
    cp "$dir/package-lock.json" "$dir/node_modules/.gatepass-lock"
  fi
}

# --- npm (jose and workerd interop tests) ---
need_npm() {
  need_node
  npm_ci test
}

# --- client (@gatepass/client in clients/typescript: its compiler, then
# dist/, which its unit tests, the interop suite and examples/node-backend
# import) ---
need_client() {
  need_node
  npm_ci clients/typescript
  (cd clients/typescript && npm run --silent build) || die "npm run build failed in clients/typescript/"
  npm_ci examples/node-backend
}

# --- browser (the browser test's playwright-core, and the example page
# with the client it bundles) ---
need_browser() {
  need_chromium
  need_client
  npm_ci test/browser
  npm_ci examples/web
}

# --- peers (the LiveKit, Centrifugo and NATS servers the grant tests run) ---
# Built with go install at pinned versions into .cache/peers, once; the
# Go program says what it builds and how long it took.
need_peers() {
  command -v go >/dev/null || die "need Go to build the peer servers"
  go run ./test/peers/buildpeers \
    || die "building the peer servers failed (output above); retry with: go run ./test/peers/buildpeers"
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(redis softhsm npm client peers promtool shell chromium)
for t in "${targets[@]}"; do
  case "$t" in
    redis) need_redis ;;
    softhsm) need_softhsm ;;
    npm) [ -f test/package-lock.json ] || die "test/package-lock.json is missing"; need_npm ;;
    client) [ -f clients/typescript/package-lock.json ] || die "clients/typescript/package-lock.json is missing"; need_client ;;
    peers) need_peers ;;
    promtool) need_promtool ;;
    wrk) need_wrk ;;
    shell) need_shell ;;
    chromium) need_chromium ;;
    browser) need_browser ;;
    *) die "unknown dependency $t" ;;
  esac
done
