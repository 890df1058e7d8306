#!/usr/bin/env bash
# Benchmark of notification-service: N OrderPlaced events drained to the spool
# (fsync on and off) and to a real SMTP sink (aiosmtpd), e-mails/s, event-to-
# accepted latency p50/p99 at a steady rate, peak RSS, the service's CPU time
# (user+system, whole process life) and CPU seconds per 1,000 e-mails, SMTP
# sessions used.
#
#   bench/notification-service/run.sh            # N=20000 spool, 2000 SMTP
#   N=50000 N_SMTP=5000 RATE=1000 SMTP_RATE=200 bench/notification-service/run.sh
#
# Needs the local stack (make infra-up). Builds into $BUILD (default
# build/bench-notif); never touches the top-level build.
set -euo pipefail
cd "$(dirname "$0")/../.."

N=${N:-20000}
N_SMTP=${N_SMTP:-2000}
RATE=${RATE:-1000}
SMTP_RATE=${SMTP_RATE:-200}
N_LIVE=${N_LIVE:-5000}
N_LIVE_SMTP=${N_LIVE_SMTP:-1000}
BUILD=${BUILD:-build/bench-notif}

source .stack/env
make --no-print-directory BUILD="$BUILD" "$BUILD/bin/notification-service" "$BUILD/bin/eda-topics" \
	>/dev/null
mkdir -p "$BUILD/bench"
# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Icommon/include \
	-o "$BUILD/bench/loadgen" bench/notification-service/loadgen.c "$BUILD/lib/libeda.a" \
	$(pkg-config --libs rdkafka jansson uuid) -lpthread -lm
LOADGEN="$BUILD/bench/loadgen"
SVC="$BUILD/bin/notification-service"

WORK=$(mktemp -d /tmp/notif-bench.XXXXXX)
RUN=$(date +%s)
SVC_PID=""
SINK_PID=""
cleanup() {
	[ -n "$SVC_PID" ] && kill "$SVC_PID" 2>/dev/null && wait "$SVC_PID" 2>/dev/null || true
	[ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null || true
	# the phases' topics (the broker would keep them)
	cat "$WORK"/topics-* 2>/dev/null | awk '{print $1}' |
		"$BUILD/bin/eda-topics" "$KAFKA_BOOTSTRAP_SERVERS" --delete - >/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# topic and dlq per phase
topics() {
	local t="bench.notif.$RUN.$1" g="bench-notif-$RUN-$1"
	printf '%s 6 1\ndlq.%s 1 1\n' "$t" "$g" >"$WORK/topics-$1"
	"$BUILD/bin/eda-topics" "$KAFKA_BOOTSTRAP_SERVERS" "$WORK/topics-$1" >/dev/null
	echo "$t $g"
}

# start_service PHASE_TOPIC GROUP [VAR=value...]
start_service() {
	local topic=$1 group=$2
	shift 2
	env TOPIC_ORDERS="$topic" CONSUMER_GROUP="$group" PORT="$(free_port)" BIND_ADDR=127.0.0.1 \
		LOG_LEVEL=warn TEMPLATE_DIR=notification-service/templates "$@" \
		"$SVC" 2>>"$WORK/service.log" &
	SVC_PID=$!
}

# stop_service N: stops the service and prints its peak RSS and CPU time
# (utime+stime from /proc, read after the drain and before the stop).
stop_service() {
	local n=$1 hwm ticks
	hwm=$(awk '/VmHWM/ {print $2}' "/proc/$SVC_PID/status")
	# fields 14 and 15 of /proc/PID/stat, counted after the ")" of the name
	ticks=$(sed 's/.*) //' "/proc/$SVC_PID/stat" | awk '{print $12 + $13}')
	kill "$SVC_PID"
	wait "$SVC_PID" || true
	SVC_PID=""
	awk -v hwm="$hwm" -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v n="$n" 'BEGIN {
		printf "peak_rss_kb=%s cpu_s=%.2f cpu_s_per_1000=%.3f\n", hwm, t / hz, t / hz * 1000 / n }'
}

# drain PHASE N VAR=value...: events produced first, then the service drains them
drain() {
	local phase=$1 n=$2 dir=$3
	shift 3
	read -r topic group < <(topics "$phase")
	"$LOADGEN" produce --topic "$topic" --n "$n" --run "$RUN$phase" 2>/dev/null
	mkdir -p "$dir"
	coproc W { "$LOADGEN" watch --dir "$dir" --n "$n" --run "$RUN$phase" --timeout 600; }
	read -r _ <&"${W[0]}" # "watching"
	start_service "$topic" "$group" "$@"
	local result
	read -r result <&"${W[0]}"
	echo "$phase: drain $result $(stop_service "$n")"
}

# live PHASE N RATE DIR VAR=value...: the service runs, events arrive at RATE/s
live() {
	local phase=$1 n=$2 rate=$3 dir=$4
	shift 4
	read -r topic group < <(topics "$phase")
	mkdir -p "$dir"
	start_service "$topic" "$group" "$@"
	sleep 5 # group join
	local result
	result=$("$LOADGEN" live --topic "$topic" --dir "$dir" --n "$n" --rate "$rate" \
		--run "$RUN$phase" --timeout 600 2>/dev/null | tail -1)
	echo "$phase: live rate=$rate/s $result $(stop_service "$n")"
}

echo "notification-service benchmark, $(nproc) cores, N=$N (spool) N_SMTP=$N_SMTP, run $RUN"
drain spool-fsync "$N" "$WORK/spool1" MAIL_SPOOL_DIR="$WORK/spool1" MAIL_SPOOL_FSYNC=true
drain spool-nofsync "$N" "$WORK/spool2" MAIL_SPOOL_DIR="$WORK/spool2" MAIL_SPOOL_FSYNC=false
live spool-live "$N_LIVE" "$RATE" "$WORK/spool3" MAIL_SPOOL_DIR="$WORK/spool3"

SINK_PORT=$(free_port)
mkdir -p "$WORK/sink"
/usr/bin/python3 notification-service/tests/support/smtp_sink.py --port "$SINK_PORT" \
	--dir "$WORK/sink" >/dev/null &
SINK_PID=$!
sleep 1.5
mkdir -p "$WORK/state"
drain smtp "$N_SMTP" "$WORK/sink" SMTP_URL="smtp://127.0.0.1:$SINK_PORT" SENT_IDS_FILE="$WORK/state/sent-ids"
echo "smtp: sessions used by the service: $(cat "$WORK/sink/.sessions" 2>/dev/null || echo 0)"
live smtp-live "$N_LIVE_SMTP" "$SMTP_RATE" "$WORK/sink" SMTP_URL="smtp://127.0.0.1:$SINK_PORT" SENT_IDS_FILE="$WORK/state/sent-ids-live"
if grep -q '"level":"error"' "$WORK/service.log"; then
	echo "service errors:"
	grep '"level":"error"' "$WORK/service.log" | head -5
fi
