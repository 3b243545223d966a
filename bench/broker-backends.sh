#!/usr/bin/env bash
# Broker storage backends side by side, in one run on this machine:
#   1. one instance on SQLite,
#   2. one instance on PostgreSQL,
#   3. two instances on one PostgreSQL database (two loadtests at once, half
#      the connections each; throughput summed, latency per instance).
# Each runs `sealpost-loadtest` (create then poll phases) at 64 connections
# in total and prints creations/s, polls/s, p50 and p99.
#
# PostgreSQL is a throwaway cluster with its default durability (fsync on),
# started by `cargo xtask with-pg --durable` (Debian's postgresql installed when
# missing). SQLite runs with --db-sync full (its default).
#
# Before each PostgreSQL set-up the cluster is brought to a running server's
# steady state: about 256 MB of WAL is written and checkpointed, so that WAL
# segments are recycled during the measurement instead of created (a new 16 MB
# segment is zero-filled and fsync'd while commits wait: a median 81 ms here
# (docs/deploy.md), several times per phase on a fresh cluster; a server past
# its first checkpoints reuses old segments), and the checkpoint does not fall
# into a phase.
#
# Usage: bench/broker-backends.sh [--seconds N] [--no-build] [--baseline DIR]
#                                 [--pg-env 'VAR=VALUE ...'] [--no-warm-wal]
#   --baseline DIR: also run the two PostgreSQL set-ups with the sealpost-broker
#   in DIR (e.g. a copy of an earlier build), in the same run, for a side-by-side
#   before/after on a machine whose load varies.
#   --pg-env: environment for the PostgreSQL brokers of this build (not the
#   baseline), e.g. 'SEALPOST_PG_CREATE_WORKERS=4' (see crates/broker/src/pg/create.rs).
#   --also-pg-env 'VAR=VALUE ...' (repeatable): one more pair of PostgreSQL
#   set-ups of this build per value, in the same run (a sweep, e.g. of
#   SEALPOST_PG_CREATE_WORKERS=1, =2, =4 against the default).
#   --no-warm-wal: measure on the fresh cluster as it is (segments created during
#   the phases).
# Goal (issue 14): two instances on PostgreSQL within 0.5x of one on SQLite,
# p99 under 20 ms for each.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_PHASE=5
BUILD=1
INNER=0
BASELINE=""
PG_ENV=""
ALSO=()
WARM_WAL=1
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_PER_PHASE="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --inner) INNER=1; shift ;;
    --baseline) BASELINE="$(cd "$2" && pwd)"; shift 2 ;;
    --pg-env) PG_ENV="$2"; shift 2 ;;
    --also-pg-env) ALSO+=("$2"); shift 2 ;;
    --no-warm-wal) WARM_WAL=0; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

TARGET="${CARGO_TARGET_DIR:-target}"
BIN="$TARGET/release"

if [ "$INNER" = 0 ]; then
  if [ "$BUILD" = 1 ]; then
    cargo build --release -q -p sealpost-broker --bins
  fi
  args=(--inner --no-build --seconds "$SECONDS_PER_PHASE")
  if [ -n "$BASELINE" ]; then args+=(--baseline "$BASELINE"); fi
  if [ -n "$PG_ENV" ]; then args+=(--pg-env "$PG_ENV"); fi
  for e in "${ALSO[@]}"; do args+=(--also-pg-env "$e"); done
  if [ "$WARM_WAL" = 0 ]; then args+=(--no-warm-wal); fi
  exec cargo xtask with-pg --durable -- bash "$0" "${args[@]}"
fi

: "${SEALPOST_TEST_PG:?run through cargo xtask with-pg}"
WORK="$(mktemp -d /tmp/sealpost-bench-backends.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# Same broker flags as the loadtest's own broker: no creation limit, no slow_down.
BROKER_FLAGS=(--listen 127.0.0.1:0 --log warn --create-rate 0 --create-rate-api-key 0
  --max-open-sessions 10000000 --poll-interval 0 --max-connections-per-client 0)

# start_broker NAME DB [BINDIR [ENV]] -> sets URL_<NAME> and PID_<NAME>
start_broker() {
  local name="$1" db="$2" bin="${3:-$BIN}" out="$WORK/$1.out"
  local -a envs
  read -r -a envs <<<"${4:-}"
  env "${envs[@]}" "$bin/sealpost-broker" "${BROKER_FLAGS[@]}" --db "$db" >"$out" 2>"$WORK/$name.err" &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 200); do
    if grep -q "listening on" "$out" 2>/dev/null; then break; fi
    sleep 0.05
  done
  local url
  url="$(sed -n 's/^sealpost-broker listening on //p' "$out" | head -1)"
  [ -n "$url" ] || { echo "broker $name did not start:" >&2; cat "$WORK/$name.err" >&2; exit 1; }
  printf -v "URL_$name" '%s' "$url"
  printf -v "PID_$name" '%s' "$pid"
}

# A fresh database on the cluster, by name.
pg_db() {
  local base="${SEALPOST_TEST_PG%/*}"
  psql -q "$SEALPOST_TEST_PG" -c "CREATE DATABASE $1" >/dev/null
  echo "$base/$1"
}

# Write about 256 MB of WAL and checkpoint (see the header): later segments
# are recycled ones, and no checkpoint is due during the next phases.
warm_wal() {
  [ "$WARM_WAL" = 1 ] || return 0
  psql -q "$SEALPOST_TEST_PG" -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS bench_wal_warmup" \
    -c "CREATE TABLE bench_wal_warmup (b TEXT)" \
    -c "INSERT INTO bench_wal_warmup SELECT repeat('x', 900) FROM generate_series(1, 256000)" \
    -c "DROP TABLE bench_wal_warmup" -c "CHECKPOINT" -c "CHECKPOINT" >/dev/null
}

# loadtest LABEL URL PID CLIENTS -> output in $WORK/LABEL.txt
loadtest() {
  "$BIN/sealpost-loadtest" --url "$2" --pid "$3" --clients "$4" --seconds "$SECONDS_PER_PHASE" \
    --phases create,poll >"$WORK/$1.txt" 2>&1
}

# field FILE PHASE WHAT  (WHAT: rate | p50 | p99)
field() {
  local line
  line="$(grep -E "^$2 " "$1" | head -1)"
  case "$3" in
    rate) awk '{print $2}' <<<"$line" ;;
    p50) sed -n 's/.* p50 \([0-9.]*\) ms.*/\1/p' <<<"$line" ;;
    p99) sed -n 's/.* p99 \([0-9.]*\) ms.*/\1/p' <<<"$line" ;;
  esac
}

row() { # LABEL FILE
  printf '%-60s %10s %8s %8s %10s %8s %8s\n' "$1" \
    "$(field "$2" create rate)" "$(field "$2" create p50)" "$(field "$2" create p99)" \
    "$(field "$2" poll rate)" "$(field "$2" poll p50)" "$(field "$2" poll p99)"
}

# pg_runs PREFIX [BINDIR [ENV]]: one instance, then two at once, on fresh databases.
pg_runs() {
  local p="$1" bin="${2:-$BIN}" envs="${3:-}"
  echo "== one instance on PostgreSQL ($bin${envs:+, $envs})"
  warm_wal
  start_broker "${p}1" "$(pg_db "bench_${p}_one")" "$bin" "$envs"
  local u1="URL_${p}1" p1="PID_${p}1"
  loadtest "${p}1" "${!u1}" "${!p1}" 64
  kill "${!p1}"

  echo "== two instances on one PostgreSQL (32 connections each, at once; $bin${envs:+, $envs})"
  warm_wal
  local db
  db="$(pg_db "bench_${p}_two")"
  start_broker "${p}A" "$db" "$bin" "$envs"
  start_broker "${p}B" "$db" "$bin" "$envs"
  local ua="URL_${p}A" pa="PID_${p}A" ub="URL_${p}B" pb="PID_${p}B"
  loadtest "${p}A" "${!ua}" "${!pa}" 32 &
  local la=$!
  loadtest "${p}B" "${!ub}" "${!pb}" 32 &
  local lb=$!
  wait "$la" "$lb"
  kill "${!pa}" "${!pb}"
}

echo "== one instance on SQLite"
start_broker sqlite "$WORK/sqlite/sealpost.db"
loadtest sqlite "$URL_sqlite" "$PID_sqlite" 64
kill "$PID_sqlite"

pg_runs pg "$BIN" "$PG_ENV"
if [ -n "$BASELINE" ]; then pg_runs base "$BASELINE"; fi
for i in "${!ALSO[@]}"; do pg_runs "also$i" "$BIN" "${ALSO[$i]}"; done

sum() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", a + b }'; }
echo
echo "sealpost-loadtest, 64 connections in total, ${SECONDS_PER_PHASE} s per phase ($(nproc) cores; other load on the machine counts; load average $(cut -d' ' -f1-3 /proc/loadavg))"
if [ "$WARM_WAL" = 1 ]; then echo "PostgreSQL: WAL warmed up and checkpointed before each set-up"; else echo "PostgreSQL: fresh cluster (--no-warm-wal)"; fi
if [ -n "$PG_ENV" ]; then echo "PostgreSQL brokers of this build with: $PG_ENV"; fi
printf '%-60s %10s %8s %8s %10s %8s %8s\n' "" "create/s" "p50 ms" "p99 ms" "poll/s" "p50 ms" "p99 ms"
row "1 x SQLite" "$WORK/sqlite.txt"
sqlite_c="$(field "$WORK/sqlite.txt" create rate)"
sqlite_p="$(field "$WORK/sqlite.txt" poll rate)"
# pg_rows PREFIX LABEL
pg_rows() {
  local p="$1" l="$2"
  row "1 x PostgreSQL$l" "$WORK/${p}1.txt"
  row "2 x PostgreSQL$l: instance A" "$WORK/${p}A.txt"
  row "2 x PostgreSQL$l: instance B" "$WORK/${p}B.txt"
  local c2 p2
  c2="$(sum "$(field "$WORK/${p}A.txt" create rate)" "$(field "$WORK/${p}B.txt" create rate)")"
  p2="$(sum "$(field "$WORK/${p}A.txt" poll rate)" "$(field "$WORK/${p}B.txt" poll rate)")"
  printf '%-60s %10s %8s %8s %10s %8s %8s\n' "2 x PostgreSQL$l: total" "$c2" "" "" "$p2" "" ""
  awk -v c2="$c2" -v p2="$p2" -v c1="$sqlite_c" -v p1="$sqlite_p" -v l="$l" \
    'BEGIN { printf "2 x PostgreSQL%s / 1 x SQLite: creations %.2fx, polls %.2fx (goal >= 0.5x)\n", l, c2 / c1, p2 / p1 }'
}
pg_rows pg ""
if [ -n "$BASELINE" ]; then pg_rows base " (baseline)"; fi
for i in "${!ALSO[@]}"; do pg_rows "also$i" " (${ALSO[$i]})"; done
