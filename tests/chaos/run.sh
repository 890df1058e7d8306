#!/usr/bin/env bash
# The project's own fault-injection suite (issue 18), `make chaos` and the short
# pass of `make test`. Under a steady load through the gateway (several
# customers, some cancels, some orders bound to be rejected for insufficient
# stock) it SIGKILLs one component, restarts it with the project's own command
# (infrastructure/scripts/stack.sh up for a server, services.sh up for a
# daemon), and after the load, once the sagas have drained, checks the
# invariants with chaos-check (tests/chaos/check.c): every acknowledged order
# exists and is terminal, each SKU's stock = initial - confirmed and never
# below zero, no reservation or release applied twice, every e-mail owed is in
# the spool, the dead-letter topics are empty. A broken invariant ends the run
# with status 1 and a "chaos: BROKEN" line; recovery times are reported, never
# asserted.
#
#   tests/chaos/run.sh            the campaign (make chaos): Kafka, PostgreSQL,
#                                 FerretDB and the four daemons one kill each,
#                                 then a crash loop of each consumer daemon, on a
#                                 stack of its own (it kills servers)
#   tests/chaos/run.sh --short    one kill per daemon on the running local stack
#                                 (make test); no server is killed
#
# Isolation: the run's daemons, ports, databases (PostgreSQL and MongoDB),
# topics and consumer groups are its own (named chaos_<time>_<pid>), as in
# bench/system/run.sh, so a running `make up` is not disturbed. Every kill
# takes its pid from a pid file this run's commands wrote. The campaign's
# servers run from $OUT/stack on ports of their own (CHAOS_PG_PORT 55632,
# CHAOS_KAFKA_PORT 59292, CHAOS_KAFKA_CONTROLLER_PORT 59293, CHAOS_MONGO_PORT
# 57217); it starts them if they are down and stops them at the end if it
# started them. Results: $OUT/summary.txt, logs under $OUT.
#
# Environment (campaign / short defaults): CHAOS_RATE (40 orders/s),
# CHAOS_CUSTOMERS (8), CHAOS_LOAD_SECONDS (20 / 12), CHAOS_KILL_AFTER (6 / 4 s
# into the load), CHAOS_DRAIN_TIMEOUT (120 / 90 s after the load for the last
# PENDING order), CHAOS_SETTLE_TIMEOUT (120 / 60 s for the invariants to hold
# once drained: cancels release and e-mails are sent after the order is
# terminal), CHAOS_LOOP_KILLS (4), CHAOS_LOOP_GAP (4 s), CHAOS_SCARCE_STOCK
# (30 units of the SKU the rejected orders ask for), CHAOS_ONLY (a space
# separated subset of scenario names, e.g. "inventory-service loop:order-service"),
# KEEP=1 (leave the run's databases and topics for a look inside).
set -euo pipefail
cd "$(dirname "$0")/../.."

mode=campaign
case $#:${1:-} in
0:) ;;
1:--short) mode=short ;;
*) echo "usage: tests/chaos/run.sh [--short]" >&2; exit 2 ;;
esac

BUILD=${BUILD:-build}
bin=$BUILD/bin
OUT=${OUT:-$BUILD/chaos}
# Absolute: stack.sh hands the folder to PostgreSQL, which runs from its data
# folder and did not find a relative socket folder when restarted.
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RATE=${CHAOS_RATE:-40}
CUSTOMERS=${CHAOS_CUSTOMERS:-8}
LOOP_KILLS=${CHAOS_LOOP_KILLS:-4}
LOOP_GAP=${CHAOS_LOOP_GAP:-4}
SCARCE_STOCK=${CHAOS_SCARCE_STOCK:-30}
SKUS=50
if [ $mode = campaign ]; then
	LOAD_SECONDS=${CHAOS_LOAD_SECONDS:-20} KILL_AFTER=${CHAOS_KILL_AFTER:-6}
	DRAIN_TIMEOUT=${CHAOS_DRAIN_TIMEOUT:-120} SETTLE_TIMEOUT=${CHAOS_SETTLE_TIMEOUT:-120}
	scenarios=(api-gateway order-service inventory-service notification-service
		postgres mongo kafka loop:order-service loop:inventory-service
		loop:notification-service)
else
	LOAD_SECONDS=${CHAOS_LOAD_SECONDS:-12} KILL_AFTER=${CHAOS_KILL_AFTER:-4}
	DRAIN_TIMEOUT=${CHAOS_DRAIN_TIMEOUT:-90} SETTLE_TIMEOUT=${CHAOS_SETTLE_TIMEOUT:-60}
	scenarios=(api-gateway order-service inventory-service notification-service)
fi
[ -z "${CHAOS_ONLY:-}" ] || read -r -a scenarios <<<"$CHAOS_ONLY"
daemons=(order-service inventory-service notification-service api-gateway)

fail() { echo "chaos: $*" >&2; exit 2; }
now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

for b in "${daemons[@]}" eda-topics; do
	[ -x "$bin/$b" ] || fail "$bin/$b missing; run make"
done
command -v psql >/dev/null || fail "psql missing; run make deps"
for s in "${scenarios[@]}"; do
	case ${s#loop:} in
	postgres | mongo | kafka)
		[ $mode = campaign ] || fail "--short kills no server (they are the shared stack's)" ;;
	order-service | inventory-service | notification-service | api-gateway) ;;
	*) fail "unknown scenario $s" ;;
	esac
done
mkdir -p "$OUT"
# shellcheck disable=SC2046
cc -O2 -std=c11 -Wall -Wextra -Werror -o "$OUT/load" bench/system/load.c \
	$(pkg-config --cflags --libs libcurl) -lm
# shellcheck disable=SC2046
cc -O2 -std=c11 -Wall -Wextra -Werror -o "$OUT/dropdb" bench/system/dropdb.c \
	$(pkg-config --cflags --libs libmongoc-1.0)
# shellcheck disable=SC2046
cc -O2 -std=c11 -Wall -Wextra -Werror -o "$OUT/chaos-check" tests/chaos/check.c \
	$(pkg-config --cflags --libs libpq libmongoc-1.0 rdkafka)

# ---- the servers --------------------------------------------------------------

started_stack=0
if [ $mode = campaign ]; then
	servers=$OUT/stack
	export_ports() {
		export EDA_PG_PORT=${CHAOS_PG_PORT:-55632} EDA_KAFKA_PORT=${CHAOS_KAFKA_PORT:-59292}
		export EDA_KAFKA_CONTROLLER_PORT=${CHAOS_KAFKA_CONTROLLER_PORT:-59293}
		export EDA_MONGO_PORT=${CHAOS_MONGO_PORT:-57217}
	}
	stack() { (export_ports && EDA_STACK_DIR=$servers EDA_TOPICS_TOOL=$bin/eda-topics \
		infrastructure/scripts/stack.sh "$@"); }
	if ! stack status >/dev/null 2>&1; then
		echo "== starting the campaign's own stack ($servers)"
		stack up
		started_stack=1
	fi
else
	servers=${EDA_STACK_DIR:-.stack}
	[ -f "$servers/env" ] || fail "the local stack is not up (make infra-up)"
fi
# shellcheck disable=SC1091
source "$servers/env"

# ---- the run's databases, topics, daemons --------------------------------------

tag=chaos_$(date +%s)_$$
svc=$OUT/run
pg_url=${DATABASE_URL%/*}/$tag
admin_url=$DATABASE_URL
mongo_url=${MONGODB_URL%/*}/$tag
export EDA_BIN_DIR=$bin
export EDA_GATEWAY_PORT=${CHAOS_GATEWAY_PORT:-18280} EDA_ORDER_PORT=${CHAOS_ORDER_PORT:-18281}
export EDA_INVENTORY_PORT=${CHAOS_INVENTORY_PORT:-18282}
export EDA_NOTIFICATION_PORT=${CHAOS_NOTIFICATION_PORT:-18283}
gw=http://127.0.0.1:$EDA_GATEWAY_PORT
services() { EDA_STACK_DIR=$svc infrastructure/scripts/services.sh "$@"; }
dlqs=()
for d in order-service inventory-service notification-service; do dlqs+=("dlq.${tag}_$d"); done

cleanup() {
	services down >/dev/null 2>&1 || true
	if [ "${KEEP:-0}" = 1 ]; then
		echo "chaos: kept database $tag (PostgreSQL and MongoDB), topics $tag.*, dlq.${tag}_*"
	else
		psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $tag WITH (FORCE)" >/dev/null 2>&1 || true
		"$OUT/dropdb" "$MONGODB_URL" "$tag" 2>/dev/null || echo "chaos: MongoDB database $tag left in place" >&2
		"$bin/eda-topics" "$KAFKA_BOOTSTRAP_SERVERS" --list 2>/dev/null | grep -E "^(dlq\.)?$tag[._]" |
			"$bin/eda-topics" "$KAFKA_BOOTSTRAP_SERVERS" --delete - >/dev/null 2>&1 ||
			echo "chaos: topics of $tag left in place" >&2
		# Set aside, not deleted: see set_mail_aside in bench/system/run.sh.
		[ ! -d "$svc/mail" ] || mv "$svc/mail" "$OUT/old-mail.$tag"
	fi
	[ $started_stack = 0 ] || stack down >/dev/null 2>&1 || true
}
trap cleanup EXIT

rm -rf "$svc"
mkdir -p "$svc/logs" "$svc/run" "$svc/mail"
rm -rf "$OUT"/old-mail.* # the spools of earlier runs (a few MB each)
rm -f "$OUT"/*.check "$OUT"/*.load "$OUT"/*.load.err "$OUT"/*.restart.log # an earlier run's
psql -q "$admin_url" -c "CREATE DATABASE $tag" >/dev/null
cat >"$svc/env" <<EOF
export KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS
export DATABASE_URL=$pg_url
export MONGODB_URL=$mongo_url MONGODB_DATABASE=$tag
export TOPIC_ORDERS=$tag.orders TOPIC_INVENTORY=$tag.inventory TOPIC_PAYMENTS=$tag.payments
export TOPIC_PRODUCTS=$tag.products
export EDA_GROUP_PREFIX=${tag}_ LOG_LEVEL=warn RATE_LIMIT_PER_SECOND=0
EOF
{
	# products: where an inventory service that publishes ProductChanged does
	# (TOPIC_PRODUCTS), so that the run's catalogue stays out of the shared topic.
	for t in orders inventory payments products; do echo "$tag.$t 6 1"; done
	for t in "${dlqs[@]}"; do echo "$t 6 1"; done
} >"$svc/topics.conf"
"$bin/eda-topics" "$KAFKA_BOOTSTRAP_SERVERS" "$svc/topics.conf" >/dev/null

# SKUS well-stocked products and one scarce one (BENCH-<SKUS>), which the
# load's bound-to-be-rejected orders ask for: they run it down to zero, and
# cancels of confirmed ones put units back.
awk -v n="$SKUS" -v scarce="$SCARCE_STOCK" 'BEGIN {
	for (i = 0; i <= n; i++) printf "BENCH-%05d %d\n", i, (i < n ? 1000000 : scarce)
}' >"$OUT/initial.txt"
awk 'BEGIN { printf "{\"products\": [\n" }
	{ printf "%s{\"sku\": \"%s\", \"name\": \"Chaos item\", \"price\": \"9.99\", \"stock\": %d}\n",
		(NR > 1 ? "," : ""), $1, $2 }
	END { printf "]}\n" }' "$OUT/initial.txt" >"$OUT/catalogue.json"
touch "$svc/seeded" # services.sh must not seed its own catalogue
echo "== $mode: starting the four daemons (run $tag, logs: $svc/logs)"
services up >/dev/null
(
	# shellcheck disable=SC1091
	source "$svc/env"
	"$bin/inventory-service" seed "$OUT/catalogue.json"
) >>"$svc/logs/inventory-service.log" 2>&1 || fail "seeding failed; see $svc/logs/inventory-service.log"

secret=$(cat "$svc/jwt-secret")
for i in $(seq 1 "$CUSTOMERS"); do
	JWT_SECRET=$secret "$bin/api-gateway" token --sub "chaos-$i" --email "chaos-$i@example.com" \
		--roles customer --ttl 86400
done >"$OUT/tokens"
: >"$OUT/acked.txt"

sql() { psql -qtAX "$pg_url" -c "$1"; }

# ---- kill and restart ------------------------------------------------------------

is_server() { case $1 in postgres | kafka | mongo) return 0 ;; esac; return 1; }

# kill_component NAME: SIGKILL by the pid its pid file names, then wait until
# the process is gone (a server's port must be free for the restart).
kill_component() {
	local file pid i
	if is_server "$1"; then file=$servers/run/$1.pid; else file=$svc/run/$1.pid; fi
	pid=$(cat "$file" 2>/dev/null) || fail "$1: no pid file $file"
	[[ $pid =~ ^[0-9]+$ ]] || fail "$1: bad pid file $file"
	kill -KILL "$pid" 2>/dev/null || { echo "chaos: $1 (pid $pid) was not running" >&2; return 0; }
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	echo "chaos: $1 (pid $pid) still there 5 s after SIGKILL" >&2
}

# restart_component NAME LOG: the project's command, retried twice if it fails
# (a killed PostgreSQL's last backends may still hold its shared memory).
restart_component() {
	local try
	for try in 1 2 3; do
		if is_server "$1"; then
			stack up >>"$2" 2>&1 && return 0
		else
			services up >>"$2" 2>&1 && return 0
		fi
		echo "chaos: restarting $1 failed (try $try; see $2)" >&2
		sleep 1
	done
	return 1
}

# ---- measuring ------------------------------------------------------------------

# done: when an order left PENDING (confirmed, rejected or cancelled by its
# owner); decided: when the saga decided it (confirmed or rejected), which a
# cancel does not show.
DONE="least(confirmed_at, rejected_at, cancelled_at)"
DECIDED="least(confirmed_at, rejected_at)"

# wait_drain: until no order is PENDING, at most DRAIN_TIMEOUT s.
wait_drain() {
	local deadline=$((SECONDS + DRAIN_TIMEOUT)) left
	while :; do
		left=$(sql "SELECT count(*) FROM orders WHERE status = 'PENDING'" 2>/dev/null) || left=?
		[ "$left" = 0 ] && return 0
		if [ $SECONDS -ge $deadline ]; then
			echo "chaos: $left orders still PENDING ${DRAIN_TIMEOUT}s after the load" >&2
			return 1
		fi
		sleep 0.5
	done
}

# settle NAME: runs chaos-check until the invariants hold or SETTLE_TIMEOUT
# passes (a cancel's release and the e-mails follow the order's final status);
# prints the last run and returns its status.
settle() {
	local deadline=$((SECONDS + SETTLE_TIMEOUT)) rc args=()
	for t in "${dlqs[@]}"; do args+=(--dlq "$t"); done
	while :; do
		rc=0
		(
			# shellcheck disable=SC1091
			source "$svc/env"
			"$OUT/chaos-check" --acked "$OUT/acked.txt" --initial "$OUT/initial.txt" \
				--spool "$svc/mail" "${args[@]}"
		) >"$OUT/$1.check" 2>&1 || rc=$?
		[ $rc -eq 0 ] || [ $SECONDS -ge $deadline ] && break
		sleep 2
	done
	sed 's/^chaos-check: /   /' "$OUT/$1.check"
	return $rc
}

# measure KILL BACK_FIRST BACK_LAST: the recovery figures, in seconds from KILL
# (the first kill) unless said otherwise, from the timestamps the order
# service records and the spool's file times:
#   new_order    until an order placed after the kill was confirmed or rejected
#   caught_up    from 2 s after BACK_FIRST on (before, an order placed after
#                the restart cannot be 2 s old, and a stalled saga would look
#                fine), until no order older than 2 s was PENDING
#   drained      until every order placed before BACK_LAST had left PENDING
#   after_last   the same, from BACK_LAST (the target for a crash loop: 30 s)
#   mail         until every e-mail owed for an event written before BACK_LAST
#                was in the spool
measure() {
	local kill=$1 back=$2 last=$3 row mail
	row=$(sql "WITH o AS (
		  SELECT created_at, coalesce($DONE, 'infinity') AS done, $DECIDED AS decided
		  FROM orders
		  WHERE created_at >= to_timestamp($kill) - interval '60 s'),
		late AS (SELECT * FROM o WHERE done > to_timestamp($back))
		SELECT
		  (SELECT coalesce(round((extract(epoch FROM min(decided)) - $kill)::numeric, 1)::text, 'never') FROM o
		    WHERE created_at > to_timestamp($kill)),
		  (SELECT coalesce(round((extract(epoch FROM min(t)) - $kill)::numeric, 1)::text, 'never')
		    FROM generate_series(to_timestamp($back + 2), to_timestamp($back) + interval '400 s',
		                         interval '100 ms') t
		    WHERE NOT EXISTS (SELECT 1 FROM late WHERE created_at < t - interval '2 s' AND done > t)),
		  (SELECT CASE WHEN max(done) IS NULL THEN '-' WHEN max(done) = 'infinity' THEN 'never'
		    ELSE round((extract(epoch FROM max(done)) - $kill)::numeric, 1)::text END
		    FROM o WHERE created_at <= to_timestamp($last)),
		  (SELECT CASE WHEN max(done) IS NULL THEN '-' WHEN max(done) = 'infinity' THEN 'never'
		    ELSE round((extract(epoch FROM max(done)) - $last)::numeric, 1)::text END
		    FROM o WHERE created_at <= to_timestamp($last))" 2>/dev/null | tr '|' ' ') ||
		row="? ? ? ?"
	# E-mails: the spool file of an event is <event id>@<domain>.eml.
	mail=$(LC_ALL=C join -a 1 -o 1.1,2.2 \
		<(sql "SELECT event_id FROM outbox WHERE created_at <= to_timestamp($last)
		         AND created_at >= to_timestamp($kill) - interval '60 s'
		         AND event_type IN ('OrderPlaced', 'OrderConfirmed', 'OrderRejected', 'OrderCancelled')" |
			LC_ALL=C sort) \
		<(find "$svc/mail" -maxdepth 1 -name '*.eml' -printf '%f %T@\n' | sed 's/@[^ ]* / /' |
			LC_ALL=C sort) |
		awk -v k="$kill" 'NF < 2 { missing++; next } $2 > m { m = $2 }
			END { if (missing) print "missing-" missing; else if (m) printf "%.1f", m - k; else print "-" }')
	echo "${row:-? ? ? ?} ${mail:-?}"
}

# unready: a line for each daemon that runs but whose /readyz says it cannot
# work (a consumer fenced for good, a dependency it lost), to tell a stuck
# daemon from a slow one when an invariant breaks.
unready() {
	local d port body
	for d in "${daemons[@]}"; do
		case $d in
		order-service) port=$EDA_ORDER_PORT ;;
		inventory-service) port=$EDA_INVENTORY_PORT ;;
		notification-service) port=$EDA_NOTIFICATION_PORT ;;
		api-gateway) port=$EDA_GATEWAY_PORT ;;
		esac
		body=$(curl -sS --max-time 3 -w ' (%{http_code})' "http://127.0.0.1:$port/readyz" 2>&1) || true
		case $body in
		*"(200)") ;;
		*) echo "chaos: $d is not ready: ${body:0:300}" ;;
		esac
	done
}

# ---- scenarios ------------------------------------------------------------------

results=() broken=0 died=()

# scenario NAME: NAME is a component (one kill) or loop:<component>
# (LOOP_KILLS kills, LOOP_GAP s apart).
scenario() {
	local name=$1 comp=${1#loop:} kills=1 k load_pid t_kill t_first t_back t_back_first
	local restarts=() rlog=$OUT/${1/:/-}.restart.log tag_ok=ok load_rc=0
	[ "$comp" = "$name" ] || kills=$LOOP_KILLS
	: >"$rlog"
	echo "== $name: $RATE orders/s for ${LOAD_SECONDS}s, SIGKILL ${kills}x from ${KILL_AFTER}s"
	LOAD_ACKED_FILE=$OUT/acked.txt "$OUT/load" mixed "$gw" "$OUT/tokens" "$LOAD_SECONDS" "$RATE" \
		"$SKUS" >"$OUT/${name/:/-}.load" 2>"$OUT/${name/:/-}.load.err" &
	load_pid=$!
	sleep "$KILL_AFTER"
	for ((k = 1; k <= kills; k++)); do
		t_kill=$(now)
		[ $k -gt 1 ] || t_first=$t_kill
		kill_component "$comp"
		if ! restart_component "$comp" "$rlog"; then
			# Nothing after this can be checked or measured.
			echo "chaos: BROKEN $comp could not be restarted; stopping (see $rlog)"
			kill "$load_pid" 2>/dev/null || true
			exit 1
		fi
		t_back=$(now)
		[ $k -gt 1 ] || t_back_first=$t_back
		restarts+=("$(elapsed "$t_kill" "$t_back")")
		[ $k -lt $kills ] || break
		sleep "$(awk -v t="$t_kill" -v n="$(now)" -v g="$LOOP_GAP" 'BEGIN { s = t + g - n; print (s > 0 ? s : 0) }')"
	done
	wait "$load_pid" || load_rc=$?
	[ $load_rc -eq 0 ] || { echo "chaos: the load generator failed (status $load_rc)"; broken=1; }
	head -n 5 "$OUT/${name/:/-}.load.err" | sed "s/^/   /"
	awk '{ printf "%s%s %s", (NR > 1 ? ", " : "   load: "), $1, $2 } END { print "" }' \
		"$OUT/${name/:/-}.load"
	# A daemon that died with the server it needs is noted and started again
	# (by make up, as a user would), so the next scenario starts whole.
	for d in "${daemons[@]}"; do
		local pid
		pid=$(cat "$svc/run/$d.pid" 2>/dev/null || echo none)
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "chaos: $d was not running after the $name scenario; restarting it"
			died+=("$d after $name")
			services up >>"$rlog" 2>&1 || true
		fi
	done
	wait_drain || true
	settle "${name/:/-}" || { tag_ok=BROKEN; broken=1; }
	[ $tag_ok = ok ] || grep -h 'BROKEN' "$OUT/${name/:/-}.check" | sed 's/^chaos-check: /chaos: /' || true
	[ $tag_ok = ok ] || unready
	read -r new caught drained after mail < <(measure "$t_first" "$t_back_first" "$t_back")
	results+=("$(printf '%-26s %-19s %8s %10s %9s %11s %8s  %s' "$name" \
		"$(IFS=,; echo "${restarts[*]}")" "${new:-?}" "${caught:-?}" "${drained:-?}" \
		"${after:-?}" "${mail:-?}" "$tag_ok")")
}

start=$SECONDS
for s in "${scenarios[@]}"; do
	scenario "$s"
done

{
	echo
	echo "== chaos $mode ($tag): seconds from the (first) kill unless said otherwise"
	echo "   restart: the restart command's time per kill; new order: until an order placed after"
	echo "   the kill was confirmed or rejected; <2s: from 2 s after the restart on, until no"
	echo "   order older than 2 s was PENDING; drained: until every order placed before the"
	echo "   (last) restart had left PENDING; after last: the same from the last restart;"
	echo "   mail: until every e-mail owed by then was in the spool"
	printf '%-26s %-19s %8s %10s %9s %11s %8s  %s\n' scenario restart_s new_order '<2s_pending' \
		drained after_last mail invariants
	printf '%s\n' "${results[@]}"
	[ ${#died[@]} -eq 0 ] || echo "daemons found dead (restarted): ${died[*]}"
	echo "$(wc -l <"$OUT/acked.txt") orders acknowledged; $((SECONDS - start)) s in all;" \
		"invariants: $([ $broken = 0 ] && echo 'all held' || echo 'BROKEN (see the chaos: BROKEN lines above)')"
} | tee "$OUT/summary.txt"
exit $broken
