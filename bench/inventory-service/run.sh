#!/usr/bin/env bash
# Benchmark of inventory-service (issue 5). Builds the daemon in its own build
# dir and the load generator (load.c) with cc + pkg-config, then on the local
# stack (source .stack/env; `make infra-up` if it is down):
#   1. ceiling: a plain mongo-c-driver loop doing one guarded decrement per
#      order item ({_id, stock >= q} + $inc), no Kafka;
#   2. drain: N OrderPlaced (1-5 items over 1,000 SKUs) are put on a fresh
#      orders topic, then the service is started and the rate at which result
#      events appear is measured (reservations/s);
#   3. latency: orders are produced at half the measured drain rate; p50/p99
#      from each order's send time to its result being readable by a consumer;
#   4. the daemon's peak RSS (VmHWM) and the CPU seconds it spent per order
#      while draining (a figure that holds on a busy machine, unlike rates).
# Usage: bench/inventory-service/run.sh [N] (default 5000). BUILD (default
# build/h-inv-bench) is the build dir; BENCH_MONGODB_URL points both the
# ceiling and the service at another MongoDB-protocol server than the
# stack's; the daemon's settings (CONSUMER_THREADS, KAFKA_*) can be given in
# the environment. BENCH_DATABASE names the database (default: a fresh one per
# run), to run again on the history of an earlier run.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-5000}
SKUS=1000
BUILD=${BUILD:-build/h-inv-bench}
OUT=$BUILD/bench
mkdir -p "$OUT"
source .stack/env; [ -z "${BENCH_MONGODB_URL:-}" ] || MONGODB_URL=$BENCH_MONGODB_URL
make -s BUILD=$BUILD $BUILD/bin/inventory-service
cc -O2 -std=c11 -D_GNU_SOURCE -o "$OUT/load" bench/inventory-service/load.c \
	$(pkg-config --cflags --libs rdkafka jansson libmongoc-1.0 uuid) -pthread

TAG=bench$$
export TOPIC_ORDERS=$TAG.orders TOPIC_INVENTORY=$TAG.inventory CONSUMER_GROUP=$TAG
export MONGODB_DATABASE=${BENCH_DATABASE:-$TAG} PORT=${PORT:-18502} LOG_LEVEL=warn
printf '%s 6 1\n%s 6 1\ndlq.%s 1 1\n' "$TOPIC_ORDERS" "$TOPIC_INVENTORY" "$TAG" >"$OUT/topics.conf"
if [ -x build/bin/eda-topics ]; then TOPICS=build/bin/eda-topics; else
	make -s BUILD=$BUILD $BUILD/bin/eda-topics; TOPICS=$BUILD/bin/eda-topics; fi
$TOPICS "$KAFKA_BOOTSTRAP_SERVERS" "$OUT/topics.conf" >/dev/null
# The run's topics go at the end, whatever happens (the broker would keep them).
delete_topics() { awk '{print $1}' "$OUT/topics.conf" |
	$TOPICS "$KAFKA_BOOTSTRAP_SERVERS" --delete - >/dev/null || true; }
trap delete_topics EXIT

# CPU seconds the store (the process listening on MONGODB_URL's port) spends,
# in clock ticks: per order, a measure of the work asked of it that holds on a
# busy machine. Empty when the process is not ours to read.
MONGO_PORT=$(sed -E 's#^mongodb://[^/]*:([0-9]+).*#\1#' <<<"$MONGODB_URL")
MONGO_PID=$(ss -ltnpH "sport = :$MONGO_PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
store_ticks() { [ -n "$MONGO_PID" ] && awk '{print $14 + $15}' "/proc/$MONGO_PID/stat" || echo 0; }
store_ms_per_order() { awk -v a="$1" -v b="$2" -v n="$N" -v hz="$(getconf CLK_TCK)" \
	'BEGIN {printf "%.3f", 1000 * (b - a) / hz / n}'; }

echo "== ceiling (plain mongo-c-driver, $N orders)"
S0=$(store_ticks)
"$OUT/load" ceiling "$MONGODB_URL" "${TAG}_ceiling" "$N" $SKUS | tee "$OUT/ceiling.txt"
echo "ceiling_store_cpu_ms_per_order $(store_ms_per_order "$S0" "$(store_ticks)")" |
	tee -a "$OUT/ceiling.txt"

echo "== seeding $SKUS SKUs"
"$OUT/load" catalogue "$OUT/catalogue.json" $SKUS 1000000
$BUILD/bin/inventory-service seed "$OUT/catalogue.json"

echo "== drain ($N orders queued before the service starts)"
"$OUT/load" fill "$KAFKA_BOOTSTRAP_SERVERS" "$TOPIC_ORDERS" "$N" $SKUS
S0=$(store_ticks)
$BUILD/bin/inventory-service 2>"$OUT/daemon.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true; delete_topics' EXIT
"$OUT/load" drain "$KAFKA_BOOTSTRAP_SERVERS" "$TOPIC_INVENTORY" "$N" | tee "$OUT/drain.txt"
echo "store_cpu_ms_per_order $(store_ms_per_order "$S0" "$(store_ticks)")" | tee -a "$OUT/drain.txt"
# utime + stime (fields 14, 15 of /proc/PID/stat, in clock ticks) over the
# drain, start-up included.
awk -v n="$N" -v hz="$(getconf CLK_TCK)" '{printf "daemon_cpu_ms_per_order %.3f\n", \
	1000 * ($14 + $15) / hz / n}' "/proc/$PID/stat" | tee -a "$OUT/drain.txt"

RATE=$(awk '/reservations_per_s/ {print int($2 / 2)}' "$OUT/drain.txt")
LN=$((RATE * 20)); [ "$LN" -gt "$N" ] && LN=$N; [ "$LN" -lt 200 ] && LN=200
echo "== latency ($LN orders at $RATE/s, half the drain rate)"
"$OUT/load" latency "$KAFKA_BOOTSTRAP_SERVERS" "$TOPIC_ORDERS" "$TOPIC_INVENTORY" "$LN" "$RATE" $SKUS |
	tee "$OUT/latency.txt"

echo "== memory"
grep -E 'VmHWM|VmRSS' /proc/$PID/status | tee "$OUT/memory.txt"
kill -TERM $PID; wait $PID || true
trap delete_topics EXIT

CEIL=$(awk '/ceiling_orders_per_s/ {print $2}' "$OUT/ceiling.txt")
SVC=$(awk '/reservations_per_s/ {print $2}' "$OUT/drain.txt")
echo "== summary: service $SVC orders/s = $(awk -v a="$SVC" -v b="$CEIL" 'BEGIN {printf "%.0f", 100*a/b}')% of the ceiling ($CEIL/s)"
# On a busy machine the rates above move with the neighbours; the store's CPU
# per order does not: their ratio is the share of the ceiling the service
# would reach where the store is the bottleneck.
SC=$(awk '/ceiling_store_cpu_ms_per_order/ {print $2}' "$OUT/ceiling.txt")
SS=$(awk '/^store_cpu_ms_per_order/ {print $2}' "$OUT/drain.txt")
echo "== store CPU per order: ceiling $SC ms, service $SS ms (ratio $(awk -v a="$SC" -v b="$SS" 'BEGIN {if (b > 0) printf "%.0f%%", 100*a/b; else print "n/a"}'))"
