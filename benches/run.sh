#!/usr/bin/env bash
# Every figure of BENCHMARKS.md, measured in one run on this machine:
#
#   1. delivery against the original Django command (../shared/baseline/django), same school,
#      same postfix smtp-sink on loopback, 2,000 and 10,000 students;
#   2. delivery of 100,000 due e-mails against postfix's smtp-source (same number of messages
#      of the same size over the same number of connections to the same sink), with 4, 1 and
#      10 connections, the delay to the first e-mail and the peak memory;
#   3. selection at 1,000,000 students on SQLite and PostgreSQL (rappels-sqlx's select_scale
#      example: import, plan --db, planning + recording, EXPLAIN of every planner query);
#   4. planning from a file (rappels plan --scenario) against Python's json.load of the same
#      file, and the peak memory of plan --scenario and run over a 1,000,000-student school;
#   5. staying in step at 1,000,000 students (rappels-sqlx's sync_scale example): full
#      imports over a database that holds the school, and activity events as
#      `rappels ingest` applies them, on SQLite and PostgreSQL;
#   6. the criterion benches (planning indexed and naive, rendering, MIME building).
#
# Usage: benches/run.sh            (from a fresh clone, with ../shared beside it)
# Env:   BENCH_DIR=dir             where data and logs go (default target/bench-run)
#        BENCH_SKIP="django pg"    sections to skip: django, smtp, select, pg, file, sync, criterion
#        RAPPELS_TEST_POSTGRES     the PostgreSQL server (default postgres://postgres@127.0.0.1:5432/test)
#
# Installs what is missing (postfix for smtp-sink/smtp-source, Django in a virtualenv) and
# starts PostgreSQL as .ci/run does. All traffic stays on 127.0.0.1. Prints `FIGURE name
# value` lines, collected at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BENCH_DIR=${BENCH_DIR:-$ROOT/target/bench-run}
BENCH_SKIP=${BENCH_SKIP:-}
export RAPPELS_TEST_POSTGRES=${RAPPELS_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}
SHARED=$ROOT/../shared
mkdir -p "$BENCH_DIR"
FIGURES=$BENCH_DIR/figures.txt
: >"$FIGURES"
START=$(date +%s)

say() { printf '\n== %s (%ss)\n' "$*" "$(($(date +%s) - START))"; }
figure() { printf 'FIGURE %-44s %s\n' "$1" "$2" | tee -a "$FIGURES"; }
skip() { [[ " $BENCH_SKIP " == *" $1 "* ]]; }
# Peak RSS in MiB and wall seconds of a command, from GNU time: `timed NAME cmd...`.
timed() {
  local name=$1; shift
  /usr/bin/time -f '%e %M' -o "$BENCH_DIR/$name.time" "$@"
  read -r WALL RSS_KB <"$BENCH_DIR/$name.time"
  RSS_MIB=$((RSS_KB / 1024))
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
rate() { awk -v n="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%.0f", n / t; else print "n/a" }'; }

say "machine"
echo "$(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB, $(uname -sr), $(rustc --version)"
grep -m1 'model name' /proc/cpuinfo || true

say "tools"
if [ ! -x /usr/sbin/smtp-sink ] || [ ! -x /usr/sbin/smtp-source ]; then
  echo "installing postfix (only for smtp-sink and smtp-source; its daemon is not started)"
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null
fi
command -v /usr/bin/time >/dev/null || { apt-get update -qq; apt-get install -y -qq time >/dev/null; }
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  for version in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
fi

say "build (release)"
# One invocation: one resolution of features, so no dependency is built twice, and the
# criterion benches built beside the rest (a later `cargo bench` was a second build of
# 50 s). Their executables are read from cargo's JSON messages and run directly.
cargo build --release -p rappels-cli -p rappels-sqlx -p rappels-benches --bin rappels \
  --example select_scale --example sync_scale --bench plan --bench messages \
  --message-format=json-render-diagnostics >"$BENCH_DIR/build.json"
RAPPELS=$ROOT/target/release/rappels
# `bench_exe NAME`: the executable cargo built for the bench target NAME.
bench_exe() {
  python3 - "$BENCH_DIR/build.json" "$1" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    message = json.loads(line)
    target = message.get("target") or {}
    if message.get("executable") and target.get("name") == sys.argv[2] and "bench" in target.get("kind", []):
        print(message["executable"])
EOF
}

# An SMTP sink on a loopback port; `sink_count PORT` reads how many messages it took.
SINKS=()
start_sink() {
  # A server already on the port would share its connections with the sink (smtp-sink
  # listens with SO_REUSEPORT) and the counts would be wrong.
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    echo "port $1 is already taken on 127.0.0.1: stop what listens there first" >&2; exit 1
  fi
  /usr/sbin/smtp-sink -c -u nobody "127.0.0.1:$1" 2048 >"$BENCH_DIR/sink_$1.log" 2>&1 &
  SINKS+=($!)
  for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done
  echo "smtp-sink did not start on $1" >&2; exit 1
}
sink_count() { tr '\r' '\n' <"$BENCH_DIR/sink_$1.log" | grep -o 'mesg=[0-9]*' | tail -1 | cut -d= -f2 || true; }
trap 'for p in "${SINKS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

# rappels against a sink: a fresh database from a scenario, one run at an instant.
# `rappels_run NAME SCENARIO_OR_DB AT PORT POOL` sets SENT, WALL, RSS_MIB.
rappels_run() {
  local name=$1 source=$2 at=$3 port=$4 pool=$5 db=$BENCH_DIR/$1.db
  rm -f "$db" "$db-wal" "$db-shm"
  if [[ $source == *.db ]]; then cp "$source" "$db"; else
    RAPPELS_DATABASE_URL=sqlite://$db "$RAPPELS" -q import "$source"; fi
  local before; before=$(sink_count "$port"); before=${before:-0}
  timed "$name" env RAPPELS_DATABASE_URL="sqlite://$db" RAPPELS_MAILER=smtp \
    RAPPELS_SMTP_HOST=127.0.0.1 RAPPELS_SMTP_PORT="$port" RAPPELS_SMTP_TLS=none \
    RAPPELS_SMTP_POOL_SIZE="$pool" RAPPELS_FROM='École <noreply@example.org>' \
    RAPPELS_LOG=info,rappels_core=debug \
    "$RAPPELS" --log-format json run --at "$at" --format json \
    >"$BENCH_DIR/$name.out" 2>"$BENCH_DIR/$name.log"
  sleep 0.3
  local after; after=$(sink_count "$port"); after=${after:-0}
  SENT=$((after - before))
  local reported; reported=$(grep -o '"sent":[0-9]*' "$BENCH_DIR/$name.out" | cut -d: -f2)
  if [ "$SENT" != "$reported" ]; then
    echo "the sink counted $SENT messages but rappels reported $reported sent" >&2; exit 1
  fi
}

# Seconds from the run's first log line to its first "sent" line.
first_sent_after() {
  python3 - "$1" <<'EOF'
import json, sys, datetime as dt
start = first = None
for line in open(sys.argv[1]):
    try:
        event = json.loads(line)
    except ValueError:
        continue
    t = dt.datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
    start = start or t
    if event.get("fields", {}).get("message") == "sent":
        first = t
        break
print(f"{(first - start).total_seconds():.3f}" if first else "n/a")
EOF
}

if ! skip django; then
  say "1. delivery: the Django command against rappels, same school, same sink"
  DJ=$BENCH_DIR/django
  if [ ! -x "$DJ/.venv/bin/python" ]; then
    rm -rf "$DJ"; cp -r "$SHARED/baseline/django" "$DJ"; chmod -R u+w "$DJ"
    python3 -m venv "$DJ/.venv"
    "$DJ/.venv/bin/pip" install -q 'Django>=5,<6'
  fi
  start_sink 2601
  for N in 2000 10000; do
    (cd "$DJ" && SINK_PORT=2602 ./bench.sh "$N") >"$BENCH_DIR/django_$N.out" 2>&1
    DJ_RATE=$(grep -o '[0-9.]* emails/s' "$BENCH_DIR/django_$N.out" | tail -1 | cut -d' ' -f1)
    DJ_SENT=$(grep -o 'emails sent [0-9]*' "$BENCH_DIR/django_$N.out" | tail -1 | cut -d' ' -f3)
    rappels_run "vs_django_$N" "$DJ/out/scenario_$N.json" 2026-11-29T19:00:00Z 2601 4
    R_RATE=$(rate "$SENT" "$WALL")
    figure "django_${N}_emails" "$DJ_SENT"
    figure "django_${N}_emails_per_s" "$DJ_RATE"
    figure "rappels_${N}_emails" "$SENT"
    figure "rappels_${N}_emails_per_s (4 connections)" "$R_RATE"
    figure "rappels_${N}_vs_django" "$(ratio "$R_RATE" "$DJ_RATE")x"
    figure "rappels_${N}_peak_rss_mib" "$RSS_MIB"
  done
fi

if ! skip smtp; then
  say "2. delivery of 100,000 due e-mails against smtp-source"
  # 62,500 students of the original's shape: about 100,000 digests and eve reminders due
  # at Sunday 20:00 Paris. Imported once; each run starts from a copy.
  SCHOOL=$BENCH_DIR/school_62500.json
  [ -s "$SCHOOL" ] || python3 "$SHARED/baseline/django/gen_big.py" --students 62500 --out "$SCHOOL"
  BASE=$BENCH_DIR/school_62500.db
  rm -f "$BASE"*
  RAPPELS_DATABASE_URL=sqlite://$BASE "$RAPPELS" -q import "$SCHOOL"
  # The size of rappels' messages, for smtp-source: the mean of a sample written as files,
  # from a school of 2,000 students of the same shape (the distribution of kinds is the
  # same; writing 100,000 files would take a minute and tell nothing more).
  SAMPLE_SCHOOL=$BENCH_DIR/school_2000.json
  [ -s "$SAMPLE_SCHOOL" ] || python3 "$SHARED/baseline/django/gen_big.py" --students 2000 --out "$SAMPLE_SCHOOL"
  SAMPLE=$BENCH_DIR/sample_outbox; rm -rf "$SAMPLE" "$BENCH_DIR/sample.db"*
  RAPPELS_DATABASE_URL="sqlite://$BENCH_DIR/sample.db" "$RAPPELS" -q import "$SAMPLE_SCHOOL"
  timed file_mailer env RAPPELS_DATABASE_URL="sqlite://$BENCH_DIR/sample.db" RAPPELS_MAILER="file:$SAMPLE" \
    RAPPELS_FROM='École <noreply@example.org>' "$RAPPELS" -q run --at 2026-11-29T19:00:00Z --format json >"$BENCH_DIR/file_mailer.out"
  FILES=$(find "$SAMPLE" -name '*.eml' | wc -l)
  SIZE=$(find "$SAMPLE" -name '*.eml' -printf '%s\n' | awk '{ s += $1 } END { printf "%d", s / NR }')
  figure "file_mailer_emails_per_s" "$(rate "$FILES" "$WALL") ($FILES files)"
  figure "message_mean_bytes" "$SIZE"
  rm -rf "$SAMPLE"
  start_sink 2603
  for C in 4 1 10; do
    rappels_run "wire_$C" "$BASE" 2026-11-29T19:00:00Z 2603 "$C"
    R_RATE=$(rate "$SENT" "$WALL"); R_RSS=$RSS_MIB
    FIRST=$(first_sent_after "$BENCH_DIR/wire_$C.log")
    before=$(sink_count 2603)
    timed "source_$C" /usr/sbin/smtp-source -c -l "$SIZE" -m "$SENT" -s "$C" \
      -f noreply@example.org -t eleve@example.org 127.0.0.1:2603 >/dev/null
    S_RATE=$(rate "$SENT" "$WALL")
    figure "wire_${C}conn_rappels_emails" "$SENT"
    figure "wire_${C}conn_rappels_emails_per_s" "$R_RATE"
    figure "wire_${C}conn_smtp_source_emails_per_s" "$S_RATE"
    figure "wire_${C}conn_ratio" "$(ratio "$R_RATE" "$S_RATE")"
    figure "wire_${C}conn_first_email_after_s" "$FIRST"
    figure "wire_${C}conn_peak_rss_mib" "$R_RSS"
  done
fi

if ! skip select; then
  say "3. selection at 1,000,000 students: SQLite"
  "$ROOT/target/release/examples/select_scale" --students 1000000 --backend sqlite \
    --steps plan,record,record_again \
    2>&1 | tee "$BENCH_DIR/select_sqlite.out"
  grep -E '^(import|time) ' "$BENCH_DIR/select_sqlite.out" | sed 's/^/FIGURE select_/' >>"$FIGURES" || true
  if ! skip pg; then
    say "3. selection at 1,000,000 students: PostgreSQL"
    "$ROOT/target/release/examples/select_scale" --students 1000000 --backend postgres \
      --steps plan,record,record_again \
      2>&1 | tee "$BENCH_DIR/select_postgres.out"
    grep -E '^(import|time) ' "$BENCH_DIR/select_postgres.out" | sed 's/^/FIGURE select_/' >>"$FIGURES" || true
  fi
fi

if ! skip file; then
  say "4. planning from a file: rappels plan --scenario against json.load"
  BIG=$BENCH_DIR/big_300000.json
  [ -s "$BIG" ] || python3 "$SHARED/baseline/django/gen_big.py" --students 300000 --out "$BIG"
  figure "file_300k_bytes" "$(stat -c %s "$BIG")"
  for i in 1 2 3; do
    PY=$(python3 -c 'import json,sys,time;t=time.perf_counter();json.load(open(sys.argv[1]));print(f"{time.perf_counter()-t:.2f}")' "$BIG")
    timed "plan_file_$i" "$RAPPELS" plan --scenario "$BIG" --at 2026-11-29T19:00:00Z >"$BENCH_DIR/plan_300k.json"
    figure "file_300k_run${i}_python_json_load_s" "$PY"
    figure "file_300k_run${i}_rappels_plan_s" "$WALL (peak $RSS_MIB MiB, ratio $(ratio "$WALL" "$PY"))"
  done
  figure "file_300k_due" "$(grep -o '"kind"' "$BENCH_DIR/plan_300k.json" | wc -l)"
  ONE_M=$BENCH_DIR/school_1m.json
  [ -s "$ONE_M" ] || "$RAPPELS" gen-scenario --students 1000000 --seed 42 --from 2026-11-23 --out "$ONE_M"
  timed plan_1m "$RAPPELS" plan --scenario "$ONE_M" --at 2026-11-29T19:05:00Z >/dev/null
  figure "file_1m_plan_scenario_s" "$WALL (peak $RSS_MIB MiB)"
  DB1M=$BENCH_DIR/school_1m.db; rm -f "$DB1M"*
  RAPPELS_DATABASE_URL=sqlite://$DB1M "$RAPPELS" -q import "$ONE_M"
  # Every message rendered and built as MIME, written to standard output and thrown away:
  # the memory of the run, not the speed of the disk (600,000 files took 4 minutes).
  timed run_1m env RAPPELS_DATABASE_URL="sqlite://$DB1M" RAPPELS_MAILER=stdout \
    "$RAPPELS" -q run --at 2026-11-29T19:05:00Z --format json >/dev/null
  SENT_1M=$(RAPPELS_DATABASE_URL="sqlite://$DB1M" "$RAPPELS" stats --days 36500 --format json |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["sent_in_period"])')
  figure "file_1m_sunday_run_stdout_mailer" "$SENT_1M sent in $WALL s (peak $RSS_MIB MiB)"
fi

if ! skip sync; then
  say "5. staying in step at 1,000,000 students: SQLite"
  "$ROOT/target/release/examples/sync_scale" --students 1000000 --backend sqlite \
    2>&1 | tee "$BENCH_DIR/sync_sqlite.out"
  grep '^FIGURE' "$BENCH_DIR/sync_sqlite.out" >>"$FIGURES" || true
  if ! skip pg; then
    say "5. staying in step at 1,000,000 students: PostgreSQL"
    "$ROOT/target/release/examples/sync_scale" --students 1000000 --backend postgres \
      2>&1 | tee "$BENCH_DIR/sync_postgres.out"
    grep '^FIGURE' "$BENCH_DIR/sync_postgres.out" >>"$FIGURES" || true
  fi
fi

if ! skip criterion; then
  say "6. criterion benches"
  # Shorter windows than criterion's defaults (3 s warm-up, 5 s of samples): enough for
  # the figures BENCHMARKS.md quotes (a render takes microseconds, so even 0.7 s is
  # tens of thousands of iterations), and the section fits in about a minute and a half.
  # The planning benches set their own windows (benches/plan.rs).
  for bench in plan messages; do
    "$(bench_exe "$bench")" --bench --warm-up-time 0.3 --measurement-time 0.7
  done 2>&1 | tee "$BENCH_DIR/criterion.out" | grep -E '^[a-z_0-9]+/|time:|thrpt:| due$' || true
fi

say "all figures"
cat "$FIGURES"
echo "done in $(($(date +%s) - START)) s"
