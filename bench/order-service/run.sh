#!/usr/bin/env bash
# order-service benchmark (issue 4), in one run against the local stack:
#   1. pgbench with the POST /orders transaction (pgbench_order.sql): the
#      database's ceiling for it, best of CLIENT_SET client counts;
#   2. wrk with post_order.lua straight at the daemon: peak orders/s, with
#      cross-replica NOTIFY on and then off (what the NOTIFY costs);
#   3. wrk paced at about half the peak: p50/p99 latency;
#   4. relay lag p50/p99 (outbox insert -> broker delivery report) of the
#      paced run, from the outbox table; the daemon's peak RSS (VmHWM).
# PostgreSQL keeps synchronous_commit = on throughout.
#
#   bench/order-service/run.sh                  (from anywhere; needs wrk)
#   DURATION=30 CONNS=32 bench/order-service/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

BUILD=${BUILD:-build}
DURATION=${DURATION:-15}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
CLIENT_SET=${CLIENT_SET:-"8 16"}
PORT=${PORT:-18401}
HTTP_THREADS=${HTTP_THREADS:-16}
DB_POOL_SIZE=${DB_POOL_SIZE:-16}
PGBENCH=${PGBENCH:-/usr/lib/postgresql/15/bin/pgbench}
[ -x "$PGBENCH" ] || PGBENCH=$(command -v pgbench)
OUT=${OUT:-$BUILD/bench/order-service}
HERE=bench/order-service

command -v wrk >/dev/null || { echo "run.sh: wrk is missing (apt-get install wrk)" >&2; exit 1; }
[ -f .stack/env ] || { echo "run.sh: the local stack is not up (make infra-up)" >&2; exit 1; }
# shellcheck disable=SC1091
source .stack/env
make -s BUILD="$BUILD" "$BUILD/bin/order-service" "$BUILD/bin/eda-topics"
mkdir -p "$OUT"

ADMIN_URL=$DATABASE_URL
DB=os_bench_$$
BASE=${ADMIN_URL%/*}
BENCH_URL=$BASE/$DB
SUFFIX=bench-$$-$(date +%s)
printf 'orders-%s 6 1\ninventory-%s 6 1\npayments-%s 6 1\nproducts-%s 6 1\n' "$SUFFIX" "$SUFFIX" "$SUFFIX" "$SUFFIX" >"$OUT/topics.conf"
"$BUILD/bin/eda-topics" "$KAFKA_BOOTSTRAP_SERVERS" "$OUT/topics.conf" >/dev/null

pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
	awk '{print $1}' "$OUT/topics.conf" |
		"$BUILD/bin/eda-topics" "$KAFKA_BOOTSTRAP_SERVERS" --delete - >/dev/null || true
}
trap cleanup EXIT
psql -q "$ADMIN_URL" -c "CREATE DATABASE $DB" >/dev/null

start() { # $1 = NOTIFY_ENABLED
	env DATABASE_URL="$BENCH_URL" PORT="$PORT" BIND_ADDR=127.0.0.1 LOG_LEVEL=warn \
		HTTP_THREADS="$HTTP_THREADS" DB_POOL_SIZE="$DB_POOL_SIZE" NOTIFY_ENABLED="$1" \
		CONSUMERS_ENABLED=false TOPIC_ORDERS="orders-$SUFFIX" \
		TOPIC_INVENTORY="inventory-$SUFFIX" TOPIC_PAYMENTS="payments-$SUFFIX" \
		TOPIC_PRODUCTS="products-$SUFFIX" \
		CONSUMER_GROUP="order-service-$SUFFIX" \
		"$BUILD/bin/order-service" 2>>"$OUT/daemon.log" &
	pid=$!
	for _ in $(seq 100); do
		curl -sf -o /dev/null "http://127.0.0.1:$PORT/readyz" && return 0
		sleep 0.1
	done
	echo "run.sh: order-service did not become ready (see $OUT/daemon.log)" >&2
	exit 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }
rps() { awk '/Requests\/sec/ {print int($2)}' "$1"; }
pct() { awk -v p="$2" '$1 == p {print $2}' "$1"; }

# The daemon applies the migrations; pgbench then runs on the same schema.
start true
stop
# The orders' products, at their prices, in the catalogue replica (the daemon
# runs without consumers here, so nothing else would fill it).
psql -q "$BENCH_URL" -c "INSERT INTO catalogue (sku, name, price_cents, currency, version)
	VALUES ('SKU-1', 'Bench item 1', 4999, 'EUR', 1), ('B-2', 'Bench item 2', 500, 'EUR', 1)" >/dev/null

echo "== pgbench ceiling (synchronous_commit=$(psql -Atq "$BENCH_URL" -c 'SHOW synchronous_commit'))"
ceiling=0
for c in $CLIENT_SET; do
	"$PGBENCH" -n -M extended -c "$c" -j 2 -T "$DURATION" -f "$HERE/pgbench_order.sql" \
		"$BENCH_URL" >"$OUT/pgbench-$c.txt" 2>&1
	tps=$(awk '/^tps/ {print int($3); exit}' "$OUT/pgbench-$c.txt")
	echo "  $c clients: $tps tx/s"
	[ "$tps" -gt "$ceiling" ] && ceiling=$tps
done
psql -q "$BENCH_URL" -c "TRUNCATE orders, order_items, outbox" >/dev/null

echo "== wrk peak, $CONNS connections, $DURATION s"
start false
wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$HERE/post_order.lua" \
	"http://127.0.0.1:$PORT" >"$OUT/wrk-peak-nonotify.txt" 2>&1
stop
peak_nonotify=$(rps "$OUT/wrk-peak-nonotify.txt")
echo "  NOTIFY off: $peak_nonotify orders/s"

start true
wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$HERE/post_order.lua" \
	"http://127.0.0.1:$PORT" >"$OUT/wrk-peak.txt" 2>&1
peak=$(rps "$OUT/wrk-peak.txt")
echo "  NOTIFY on:  $peak orders/s (p50 $(pct "$OUT/wrk-peak.txt" 50%), p99 $(pct "$OUT/wrk-peak.txt" 99%))"
peak_lag=$(psql -Atq "$BENCH_URL" -c "SELECT round(1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM published_at - created_at))::numeric, 1) FROM outbox WHERE published_at IS NOT NULL")
psql -q "$BENCH_URL" -c "SELECT 1 FROM outbox WHERE published_at IS NULL LIMIT 1" >/dev/null
mark=$(psql -Atq "$BENCH_URL" -c "SELECT coalesce(max(id), 0) FROM outbox")

half=$((peak / 2))
delay=$((CONNS * 1000 / (half > 0 ? half : 1)))
echo "== wrk paced at ~$half orders/s ($CONNS connections, delay ${delay} ms each)"
DELAY_MS=$delay wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$HERE/post_order.lua" \
	"http://127.0.0.1:$PORT" >"$OUT/wrk-half.txt" 2>&1
sleep 1
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
stop
half_rps=$(rps "$OUT/wrk-half.txt")
lag=$(psql -Atq "$BENCH_URL" -c "SELECT round(1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM published_at - created_at))::numeric, 1) || ' / ' || round(1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM published_at - created_at))::numeric, 1) FROM outbox WHERE id > $mark AND published_at IS NOT NULL")
unpublished=$(psql -Atq "$BENCH_URL" -c "SELECT count(*) FROM outbox WHERE published_at IS NULL")

echo
echo "== order-service benchmark ($(nproc) cores, $(date -u +%FT%TZ))"
echo "pgbench ceiling (same transaction):   $ceiling tx/s"
echo "service peak, NOTIFY on:              $peak orders/s ($((100 * peak / (ceiling > 0 ? ceiling : 1)))% of the ceiling)"
echo "service peak, NOTIFY off:             $peak_nonotify orders/s"
echo "paced run:                            $half_rps orders/s, p50 $(pct "$OUT/wrk-half.txt" 50%), p99 $(pct "$OUT/wrk-half.txt" 99%)"
echo "relay lag p50 / p99 (paced run):      $lag ms"
echo "relay lag p99 (peak run):             $peak_lag ms"
echo "outbox rows left unpublished:         $unpublished"
echo "daemon peak RSS (VmHWM):              $((rss_kb / 1024)) MB"
echo "raw outputs in $OUT"
