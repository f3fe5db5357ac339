#!/usr/bin/env bash
# Measures gatepass against the limits of the machine it runs on, and prints
# one table with the target ratios:
#   - the Go benchmarks (signers, use cases, limiters), one core;
#   - `openssl speed rsa2048`, one core: the machine's RSA signing limit;
#   - the real `gatepass serve` under HTTP load: the office grant and the
#     Centrifugo connection token per JWT_SIGNER (RS256, compared with
#     openssl's sign rate), the realtime and LiveKit tokens (HS256), and a
#     bare gin server answering bodies of the same sizes (the HTTP
#     ceiling), each on CPU 0 with GOMAXPROCS=1 while the load generator,
#     wrk (Debian's package, installed when missing), runs on CPU 1, over
#     loopback with keep-alive, each request with the bearer token of the
#     next of BENCH_USERS users (test/bench/tokens.lua); the runs of each target
#     ratio (openssl speed with the OpenSSL-signed RS256 runs, bare gin with
#     the HS256 runs) in alternating rounds, so that the machine's drift
#     between two runs weighs less on their ratio;
#   - the realtime token again with BENCH_REVOCATIONS revocations stored
#     (recorded through the admin API before the run, for users the
#     requests never name), in the same alternating rounds: the A/B of the
#     revocation check on the grant path against the same build without;
#   - a CPU profile of the same requests served in process;
#   - the reconnect storm (harness storm, vegeta's library):
#     BENCH_STORM_USERS distinct users, each asking for an office grant and
#     a realtime token at once, against one gatepass in production mode on
#     every CPU (GOMAXPROCS=nproc), the load generator sharing the CPUs;
#     once with rate limits off, once on in memory, once on Redis (a
#     redis-server on loopback, installed when missing);
#   - eviction: BENCH_EVICTION_REVOCATIONS users, each connected to the real
#     livekit-server, Centrifugo, nats-server and the office-router Worker on workerd,
#     revoked one after another through the admin API of one of two gatepass
#     replicas on one redis-server: the time from each revocation call to
#     each transport's eviction, p50 and p99 (BenchmarkEviction in
#     test/eviction; it prints its own table into eviction.txt).
# Beside each figure stands the load generator's own CPU, so that a reader
# sees whether the generator, not gatepass, was the limit. test/bench/harness
# mints the tokens, reads the CPU times and prints the table; a request of
# gatepass that failed fails the run, after the table.
# Raw results go to bench/out/<time>/ (git-ignored; bench/out/latest points
# at the last run). Everything is built into a temporary folder.
#
# Knobs (environment):
#   BENCH_SECONDS=10        measured seconds of each HTTP run and of each openssl speed phase
#   BENCH_ROUNDS=3          alternating rounds of each ratio's runs: openssl speed with the
#                           RS256 runs, bare gin with the HS256 runs (the medians are reported)
#   BENCH_WARMUP=2          warm-up seconds before each HTTP measurement
#   BENCH_CONCURRENCY=32    keep-alive connections, one request in flight each
#   BENCH_USERS=1000        distinct users (bearer tokens) the HTTP runs' requests take turns with
#   BENCH_SIGNERS="openssl go"   JWT_SIGNER values of the request-access runs
#   BENCH_LOG_LEVEL=info    LOG_LEVEL of the server (info logs every request, as in production)
#   BENCH_REVOCATIONS=10000 revocations stored for the realtime A/B run (0: skip the run)
#   BENCH_GOBENCH=1         run the Go benchmarks (0: skip)
#   BENCH_GOBENCHTIME=1s    -benchtime of the Go benchmarks
#   BENCH_PROFILE=1         profile the in-process router (0: skip)
#   BENCH_IDLE_WAIT=10      before each measurement, wait up to this many seconds for
#                           the machine to be idle (other processes skew the numbers)
#   BENCH_STORM=1           run the reconnect storm (0: skip)
#   BENCH_STORM_USERS=10000 distinct users (access tokens) of the storm
#   BENCH_STORM_CONNS=512   keep-alive connections (vegeta workers) the storm is sent over
#   BENCH_STORM_LIMITS="off memory redis"   rate-limit settings, one storm each
#   BENCH_STORM_TIMEOUT=120 seconds after which a storm gives up (unsent requests count as errors)
#   BENCH_EVICTION=1        measure the eviction times (0: skip; only: nothing else, quickly)
#   BENCH_EVICTION_REVOCATIONS=20   revocations the eviction times are taken over
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

seconds=${BENCH_SECONDS:-10}
rounds=${BENCH_ROUNDS:-3}
warmup=${BENCH_WARMUP:-2}
conc=${BENCH_CONCURRENCY:-32}
users=${BENCH_USERS:-1000}
signers=${BENCH_SIGNERS:-openssl go}
log_level=${BENCH_LOG_LEVEL:-info}
gobench=${BENCH_GOBENCH:-1}
gobenchtime=${BENCH_GOBENCHTIME:-1s}
profile=${BENCH_PROFILE:-1}
idle_wait=${BENCH_IDLE_WAIT:-10}
storm=${BENCH_STORM:-1}
storm_users=${BENCH_STORM_USERS:-10000}
storm_conns=${BENCH_STORM_CONNS:-512}
storm_limits=${BENCH_STORM_LIMITS:-off memory redis}
storm_timeout=${BENCH_STORM_TIMEOUT:-120}
revocations=${BENCH_REVOCATIONS:-10000}
eviction=${BENCH_EVICTION:-1}
eviction_revocations=${BENCH_EVICTION_REVOCATIONS:-20}
for v in seconds rounds warmup conc users idle_wait storm_users storm_conns storm_timeout revocations eviction_revocations; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
[ "$seconds" -ge 1 ] && [ "$seconds" -le 120 ] || die "BENCH_SECONDS must be between 1 and 120"
[ "$warmup" -le 60 ] || die "BENCH_WARMUP must be at most 60"
[ "$rounds" -ge 1 ] && [ "$rounds" -le 9 ] || die "BENCH_ROUNDS must be between 1 and 9"
[ "$conc" -ge 1 ] && [ "$conc" -le 1024 ] || die "BENCH_CONCURRENCY must be between 1 and 1024"
[ "$users" -ge 1 ] && [ "$users" -le 100000 ] || die "BENCH_USERS must be between 1 and 100000"
[ -n "$signers" ] || die "BENCH_SIGNERS is empty"
[ "$storm_users" -ge 1 ] && [ "$storm_users" -le 1000000 ] || die "BENCH_STORM_USERS must be between 1 and 1000000"
[ "$storm_timeout" -ge 1 ] && [ "$storm_timeout" -le 1800 ] || die "BENCH_STORM_TIMEOUT must be between 1 and 1800"
[ "$revocations" -le 1000000 ] || die "BENCH_REVOCATIONS must be at most 1000000"
[[ $eviction =~ ^(0|1|only)$ ]] || die "BENCH_EVICTION must be 0, 1 or only, got '$eviction'"
[ "$eviction_revocations" -ge 1 ] && [ "$eviction_revocations" -le 1000 ] || die "BENCH_EVICTION_REVOCATIONS must be between 1 and 1000"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=bench/out/$stamp
mkdir -p "$out"
ln -sfn "$stamp" bench/out/latest
tmp=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- Eviction: from a revocation call to each transport's eviction ---
# The peers as the tests run them (scripts/deps.sh: livekit-server,
# Centrifugo, nats-server, redis-server, the Node packages that run
# workerd), gatepass
# in the benchmark's process; nothing pinned: every process shares the CPUs,
# as in a deployment. The table is the last one BenchmarkEviction prints
# (the first comes from Go's probe run with one revocation).
eviction_run() {
  scripts/deps.sh redis npm peers >&2 || { say "the eviction run needs its peers (scripts/deps.sh)"; return 1; }
  say "eviction: $eviction_revocations revocations, each timed to its eviction on every transport"
  if ! go test -count=1 -run '^$' -bench '^BenchmarkEviction$' -benchtime "${eviction_revocations}x" \
    ./test/eviction >"$out/eviction.txt" 2>&1; then
    say "the eviction benchmark failed (see eviction.txt)"
    return 1
  fi
  awk '/^eviction over/ { table = "" } /^eviction over/, /^  \(the 202\)/ { table = table $0 "\n" } END { printf "%s", table }' \
    "$out/eviction.txt" | tee "$out/eviction-summary.txt"
}
if [ "$eviction" = only ]; then
  status=0
  eviction_run || status=$?
  say "raw results in $out ($SECONDS s)"
  exit "$status"
fi

# The server on CPU 0, everything that measures it on CPU 1.
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  server_pin=(taskset -c 0)
  client_pin=(taskset -c 1)
  server_core=0
  placement="server on CPU 0 with GOMAXPROCS=1, load generator on CPU 1"
else
  say "taskset (util-linux) is missing or the machine has one CPU: running unpinned, numbers are less comparable"
  server_pin=()
  client_pin=()
  server_core=-1
  placement="UNPINNED (no taskset or one CPU), server with GOMAXPROCS=1"
fi

# wrk from Debian's package, redis-server for the Redis storm: installed
# as the tests' tools are, or a clear message why not.
command -v wrk >/dev/null || scripts/deps.sh wrk || die "make bench needs wrk (apt-get install -y wrk)"
if [ "$storm" = 1 ] && [[ " $storm_limits " == *" redis "* ]]; then
  command -v redis-server >/dev/null || scripts/deps.sh redis || die "the Redis storm needs redis-server"
fi

say "building into a temporary folder"
go build -o "$tmp/gatepass" ./cmd/gatepass
go build -o "$tmp/harness" ./test/bench/harness
go build -tags bench -o "$tmp/ceiling" ./test/bench
harness=$tmp/harness
wait_idle() {
  if [ "$idle_wait" -gt 0 ]; then "$harness" wait-idle "${idle_wait}s"; fi
}

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit + uncommitted changes"
{
  echo "gatepass benchmarks, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $commit"
  echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')), Linux $(uname -r), $(go env GOVERSION), $(openssl version 2>/dev/null | cut -d' ' -f1-2)"
  echo "placement: $placement; wrk $(wrk --version 2>&1 | head -n1 | cut -d' ' -f2), $conc keep-alive connections, $users users, ${warmup}s warm-up, ${seconds}s measured; server LOG_LEVEL=$log_level, rate limits off"
  echo "rounds: $rounds alternating rounds of openssl speed and the RS256 runs signed with OpenSSL, and of the HS256 runs and bare gin; each ratio the median of its rounds' ratios"
  if [ "$revocations" -gt 0 ]; then
    echo "revocations: the realtime token also with $revocations revocations stored, in the same rounds (A/B of the revocation check)"
  fi
  if [ "$storm" = 1 ]; then
    echo "storm: $storm_users users over $storm_conns connections, rate limits: $storm_limits; server with GOMAXPROCS=$(nproc) on every CPU, load generator sharing them"
  fi
  echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
} >"$out/meta.txt"

# --- Go benchmarks, one core ---
if [ "$gobench" = 1 ]; then
  mapfile -t bench_dirs < <(grep -rlE --include='*_test.go' --exclude-dir=node_modules --exclude-dir=.git '^func Benchmark' . |
    xargs -n1 dirname | sort -u | grep -vxE './test/(bench|eviction)')
  say "Go benchmarks (-benchtime $gobenchtime) in ${bench_dirs[*]}"
  : >"$out/gobench.txt"
  for d in "${bench_dirs[@]}"; do
    go test -c -o "$tmp/tests/$(echo "${d#./}" | tr / -).test" "$d" >>"$out/gobench.txt" 2>&1 ||
      say "  $d: build failed (see gobench.txt)"
  done
  wait_idle
  for d in "${bench_dirs[@]}"; do
    bin="$tmp/tests/$(echo "${d#./}" | tr / -).test"
    [ -x "$bin" ] || continue
    (cd "$d" && "${server_pin[@]}" "$bin" -test.run '^$' -test.bench . -test.benchmem \
      -test.benchtime "$gobenchtime" -test.cpu 1) >>"$out/gobench.txt" 2>&1 ||
      say "  $d: benchmarks failed (see gobench.txt)"
  done
fi

# --- The machine's RSA signing limit, one core ---
# openssl_speed ROUND: openssl speed rsa2048 into openssl-speed-ROUND.txt;
# it runs in the rounds of the RSA endpoints below.
have_openssl=1
if ! command -v openssl >/dev/null; then
  have_openssl=0
  say "openssl is not installed: no RSA signing limit to compare with"
fi
openssl_speed() {
  [ "$have_openssl" = 1 ] || return 0
  say "round $1 of $rounds: openssl speed -seconds $seconds rsa2048 (sign, then verify)"
  wait_idle
  "${server_pin[@]}" openssl speed -seconds "$seconds" rsa2048 >"$out/openssl-speed-$1.txt" 2>&1 ||
    say "openssl speed failed (see openssl-speed-$1.txt)"
}

# --- HTTP ---
# free_port picks a loopback port nothing listens on, below the ephemeral
# range so that no outgoing connection takes it before the server binds it.
free_port() {
  local p low
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "$low" -gt 12000 ] || low=32768
  for _ in $(seq 100); do
    p=$((10000 + RANDOM % (low - 10000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  die "no free loopback port"
}

# Development mode: keys under a temporary DEV_DIR, callers verified
# against the local development identity key (each user's token cached
# after its first request, as AUTH_CACHE_* defaults do in production). The
# first server creates the keys; the users' tokens are minted from them
# once it runs.
dev=$tmp/dev
tokens=$tmp/tokens
mint_tokens() {
  [ -s "$tokens" ] && return 0
  "$harness" tokens -dev-dir "$dev" -users "$users" -out "$tokens"
}

# start_gatepass NAME JWT_SIGNER: serve in the background; sets server_pid,
# server_url, admin_url and signer (what the server says it signs with).
# A port taken between choosing and binding it means another try.
# extra_env holds more NAME=value settings for the server (empty by default).
extra_env=()
start_gatepass() {
  local name=$1 want=$2 port admin try
  for try in 1 2 3; do
    port=$(free_port)
    admin=$(free_port)
    "${server_pin[@]}" env -i PATH="$PATH" HOME="$HOME" GOMAXPROCS=1 \
      APP_ENV=development DEV_DIR="$dev" HTTP_ADDR="127.0.0.1:$port" ADMIN_ADDR="127.0.0.1:$admin" \
      RATE_LIMIT_ENABLED=false JWT_SIGNER="$want" LOG_LEVEL="$log_level" "${extra_env[@]}" \
      "$tmp/gatepass" serve >/dev/null 2>"$tmp/$name.log" &
    server_pid=$!
    server_url=http://127.0.0.1:$port
    admin_url=http://127.0.0.1:$admin
    if "$harness" probe -wait 30s -server-pid "$server_pid" -method GET -url "$server_url/healthz" >/dev/null 2>&1; then
      break
    fi
    stop_server
    if [ "$try" = 3 ] || ! grep -q 'address already in use' "$tmp/$name.log"; then
      tail -n 3 "$tmp/$name.log" >&2
      die "gatepass ($name) did not start"
    fi
  done
  mint_tokens
  grep -m1 '"gatepass serving"' "$tmp/$name.log" | sed 's/"addr":"[^"]*",//' >"$out/server-$name.log" || true
  "$harness" probe -method GET -url "$admin_url/readyz" >"$out/readyz-$name.json" 2>/dev/null || true
  # The start log names the signer; below LOG_LEVEL=info, /readyz does.
  signer=$(grep -o '"signer":"[^"]*"' "$tmp/$name.log" | head -n1 | cut -d'"' -f4 || true)
  if [ -z "$signer" ]; then
    signer=$(grep -o '"signer":{[^}]*"detail":"[a-z0-9]*' "$out/readyz-$name.json" | sed 's/.*"detail":"//' || true)
  fi
  if [ -z "$signer" ]; then
    say "  the server does not say which signer it uses (JWT_SIGNER not wired?); recorded as '$want?'"
    signer="$want?"
  elif [ "$signer" != "$want" ]; then
    say "  asked for JWT_SIGNER=$want, the server signs with $signer"
  fi
}

# start_ceiling BODY_BYTES [ROUTE STATUS]: the bare gin server, pinned like
# gatepass, answering POST ROUTE (the realtime token's by default) with
# STATUS (200) and a BODY_BYTES-byte body.
start_ceiling() {
  local port
  port=$(free_port)
  "${server_pin[@]}" env GOMAXPROCS=1 "$tmp/ceiling" -addr "127.0.0.1:$port" -body-bytes "$1" \
    -route "${2:-/api/v1/realtime/token}" -status "${3:-200}" 2>"$tmp/ceiling.log" &
  server_pid=$!
  server_url=http://127.0.0.1:$port
  "$harness" probe -wait 30s -server-pid "$server_pid" -method GET -url "$server_url/healthz" >/dev/null || die "the bare gin server did not start"
  signer=""
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# load NAME LABEL PATH [BODY]: the measured run against the current server,
# its result in http-<number>-NAME.json, numbered in the order of the runs;
# round is the round of alternating runs it belongs to (0: none).
round=0
n=1
load() {
  local file
  file=$(printf 'http-%02d-%s.json' "$n" "$1")
  n=$((n + 1))
  wait_idle
  "${client_pin[@]}" "$harness" wrk -url "$server_url$3" -body "${4:-}" -tokens "$tokens" -c "$conc" \
    -warmup "${warmup}s" -duration "${seconds}s" -script test/bench/tokens.lua \
    -server-pid "$server_pid" -label "$2" -signer "$signer" -round "$round" -out "$out/$file" >/dev/null
}

# The RSA endpoints against openssl's sign rate: every signer that signs
# with OpenSSL (JWT_SIGNER=openssl, or auto choosing it, as the server says
# at start) has openssl speed, the office grant and the Centrifugo
# connection token (RS256 with the office key) in alternating rounds, and
# the report takes the median of the rounds' ratios; other signers, which
# have no target, run in the first round only.
declare -A signs_with
rsa_rounds=1
for r in $(seq "$rounds"); do
  [ "$r" -gt "$rsa_rounds" ] && break
  openssl_speed "$r"
  for s in $signers; do
    [ "$r" = 1 ] || [ "${signs_with[$s]:-}" = openssl ] || continue
    tag=""
    [ "$r" = 1 ] || tag="round $r of $rounds: "
    say "${tag}gatepass, JWT_SIGNER=$s: POST /api/v1/cloudflare/request-access"
    start_gatepass "office-$s" "$s"
    signs_with[$s]=$signer
    round=0
    if [ "$signer" = openssl ]; then
      round=$r
      rsa_rounds=$rounds
    fi
    load "office-$s" request-access /api/v1/cloudflare/request-access
    stop_server

    say "${tag}gatepass, JWT_SIGNER=$s: POST /api/v1/centrifugo/connection-token"
    start_gatepass "centrifugo-$s" "$s"
    "$harness" probe -url "$server_url/api/v1/centrifugo/connection-token" -tokens "$tokens" >/dev/null ||
      die "the Centrifugo connection-token endpoint did not answer 2xx (development enables Centrifugo by default)"
    load "centrifugo-$s" centrifugo/connection-token /api/v1/centrifugo/connection-token
    stop_server
  done
done
round=0

# The HS256 endpoints against bare gin: a ratio of two runs, each of which
# drifts with the machine by a few percent, so the four runs go in
# alternating rounds (gatepass, then bare gin of the same response size)
# and the report takes the median of the rounds' ratios.
s=${signers%% *}
livekit_body='{"room_name":"r"}'
realtime_run() {
  say "round $round of $rounds: gatepass, JWT_SIGNER=$s: POST /api/v1/realtime/token"
  start_gatepass realtime "$s"
  if [ -z "${body_bytes:-}" ]; then
    body_bytes=$("$harness" probe -url "$server_url/api/v1/realtime/token" -tokens "$tokens" | wc -c)
    [ "$body_bytes" -ge 100 ] || die "the realtime token endpoint did not answer 200 with a token"
  fi
  load realtime realtime/token /api/v1/realtime/token
  stop_server
}

# The same build with revocations stored: every request is checked
# against them and none is refused (their users are not the tokens').
realtime_revocations_run() {
  [ "$revocations" -gt 0 ] || return 0
  say "round $round of $rounds: gatepass, JWT_SIGNER=$s: POST /api/v1/realtime/token with $revocations revocations stored"
  admin_token=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  extra_env=(ADMIN_API_TOKEN="$admin_token")
  start_gatepass realtime-revocations "$s"
  extra_env=()
  "$harness" revoke -admin-url "$admin_url" -token "$admin_token" -n "$revocations" ||
    die "recording $revocations revocations through the admin API failed"
  load realtime-revocations "realtime/token, revocations stored" /api/v1/realtime/token
  stop_server
}

for round in $(seq "$rounds"); do
  # The A/B pair swaps places every round, so that neither run is always
  # the first after the previous round's bare gin.
  if [ $((round % 2)) = 1 ]; then
    realtime_run
    realtime_revocations_run
  else
    realtime_revocations_run
    realtime_run
  fi

  say "round $round of $rounds: bare gin, a constant ${body_bytes}-byte JSON body (the size of a realtime token response)"
  start_ceiling "$body_bytes"
  load ceiling "bare gin" /api/v1/realtime/token
  stop_server

  # LiveKit tokens are HS256 with the API secret (development's own when
  # LIVEKIT_* are unset), answered 201.
  say "round $round of $rounds: gatepass, JWT_SIGNER=$s: POST /api/v1/livekit/token"
  start_gatepass livekit "$s"
  if [ "$round" = 1 ]; then
    livekit_bytes=$("$harness" probe -url "$server_url/api/v1/livekit/token" -body "$livekit_body" -tokens "$tokens" | wc -c)
    [ "$livekit_bytes" -ge 100 ] || die "the LiveKit token endpoint did not answer 2xx with a token (development enables LiveKit by default)"
  fi
  load livekit livekit/token /api/v1/livekit/token "$livekit_body"
  stop_server

  say "round $round of $rounds: bare gin, a constant ${livekit_bytes}-byte JSON body answered 201 (the size of a LiveKit token response)"
  start_ceiling "$livekit_bytes" /api/v1/livekit/token 201
  load ceiling-livekit "bare gin, livekit-sized" /api/v1/livekit/token "$livekit_body"
  stop_server
done
round=0

# --- Where the time goes: the same requests in process, profiled ---
if [ "$profile" = 1 ]; then
  say "CPU profile of the router in process (JWT_SIGNER=$s)"
  go test -tags bench -c -o "$tmp/router.test" ./test/bench
  wait_idle
  echo "JWT_SIGNER=$s LOG_LEVEL=$log_level" >"$out/router.txt"
  for ep in office realtime livekit centrifugo; do
    (cd test/bench && env JWT_SIGNER="$s" LOG_LEVEL="$log_level" DEV_DIR="$dev" "${server_pin[@]}" "$tmp/router.test" \
      -test.run '^$' -test.bench "^BenchmarkRouter/$ep\$" -test.benchmem -test.benchtime 3s -test.cpu 1 \
      -test.cpuprofile "$OLDPWD/$out/profile-$ep.prof") >>"$out/router.txt" 2>&1 ||
      say "  in-process $ep benchmark failed (see router.txt)"
    if [ -s "$out/profile-$ep.prof" ]; then
      go tool pprof -top -nodecount 40 "$tmp/router.test" "$out/profile-$ep.prof" >"$out/profile-$ep-top.txt" 2>/dev/null || true
      go tool pprof -top -cum -nodecount 400 "$tmp/router.test" "$out/profile-$ep.prof" >"$out/profile-$ep-cum.txt" 2>/dev/null || true
    fi
  done
fi

# --- The reconnect storm: one server on every CPU, the load generator
# sharing them; it starts the server (and redis-server) itself, since the
# server must trust the identity provider it serves. The storm reuses the
# development identity and office keys of the runs above.
if [ "$storm" = 1 ]; then
  say "reconnect storm: $storm_users users, rate limits: $storm_limits (JWT_SIGNER=$s, GOMAXPROCS=$(nproc))"
  wait_idle
  "$harness" storm -gatepass "$tmp/gatepass" -dev-dir "$dev" -users "$storm_users" -conns "$storm_conns" \
    -limits "$storm_limits" -timeout "${storm_timeout}s" -signer "$s" -log-level "$log_level" \
    -out-dir "$out" || say "the storm failed (see the storm-*-server.log files)"
fi

eviction_status=0
if [ "$eviction" = 1 ]; then
  eviction_run || eviction_status=$?
fi

echo
status=0
"$harness" report -server-core "$server_core" "$out" | tee "$out/summary.txt" || status=$?
echo
say "raw results in $out ($SECONDS s)"
[ "$status" != 0 ] || status=$eviction_status
exit "$status"
