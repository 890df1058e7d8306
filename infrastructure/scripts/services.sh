#!/usr/bin/env bash
# The four daemons on top of the local stack, for `make up`, `make down`,
# `make status` and `make logs`. Each runs from build/bin in the background with
# its log in .stack/logs/<daemon>.log and its pid in .stack/run/<daemon>.pid, so
# `down` stops exactly what `up` started.
#
#   services.sh up | down | status | logs | tokens
#
# Environment (defaults): EDA_STACK_DIR (<repo>/.stack), EDA_BIN_DIR
# (<repo>/build/bin), EDA_GATEWAY_PORT (8080), EDA_ORDER_PORT (8001),
# EDA_INVENTORY_PORT (8002), EDA_NOTIFICATION_PORT (8003), EDA_START_TIMEOUT (60),
# EDA_GROUP_PREFIX (unset: each daemon's default consumer group),
# EDA_INSTANCE_PREFIX (local: daemon D runs with INSTANCE_ID=local-D).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
dir=${EDA_STACK_DIR:-$root/.stack}
bin=${EDA_BIN_DIR:-$root/build/bin}
timeout=${EDA_START_TIMEOUT:-60}
logs=$dir/logs
run=$dir/run
daemons=(order-service inventory-service notification-service api-gateway)

declare -A port=(
	[api-gateway]=${EDA_GATEWAY_PORT:-8080}
	[order-service]=${EDA_ORDER_PORT:-8001}
	[inventory-service]=${EDA_INVENTORY_PORT:-8002}
	[notification-service]=${EDA_NOTIFICATION_PORT:-8003}
)

fail() { echo "services: $*" >&2; exit 1; }

alive() {
	local pid
	[ -f "$run/$1.pid" ] || return 1
	pid=$(cat "$run/$1.pid")
	[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

ready() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:${port[$1]}/readyz" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

jwt_secret() {
	# One random secret per local stack, kept with its data; the gateway verifies
	# with it and `api-gateway token` signs with it.
	[ -s "$dir/jwt-secret" ] || head -c 32 /dev/urandom | base64 | tr -d '\n=' >"$dir/jwt-secret"
	chmod 600 "$dir/jwt-secret"
	cat "$dir/jwt-secret"
}

# env_for DAEMON: the environment the daemon runs with (on top of .stack/env).
env_for() {
	local d=$1
	echo "PORT=${port[$d]} BIND_ADDR=127.0.0.1 LOG_LEVEL=${LOG_LEVEL:-info}"
	# The replica's stable name: its Kafka consumers are static group members,
	# so a restarted daemon takes its partitions back at once (README).
	echo "INSTANCE_ID=${EDA_INSTANCE_PREFIX:-local}-$d"
	# A second set of daemons on the same stack (make bench) needs groups of its own.
	[ -z "${EDA_GROUP_PREFIX:-}" ] || echo "CONSUMER_GROUP=$EDA_GROUP_PREFIX$d"
	case $d in
	notification-service) echo "MAIL_SPOOL_DIR=$dir/mail" ;;
	api-gateway)
		echo "ORDER_SERVICE_URL=http://127.0.0.1:${port[order-service]}"
		echo "INVENTORY_SERVICE_URL=http://127.0.0.1:${port[inventory-service]}"
		echo "JWT_SECRET=$(jwt_secret)"
		;;
	esac
}

started=0
start() {
	local d=$1 deadline
	if alive "$d"; then
		return 0
	fi
	started=$((started + 1))
	[ -x "$bin/$d" ] || fail "$d: $bin/$d missing; run make"
	if port_open "${port[$d]}"; then
		fail "$d: port ${port[$d]} on 127.0.0.1 is already in use; free it or set EDA_$(echo "${d%%-*}" | tr a-z A-Z)_PORT"
	fi
	mkdir -p "$dir/mail"
	# shellcheck disable=SC2046
	(cd "$root" && exec env $(env_for "$d") "$bin/$d") >>"$logs/$d.log" 2>&1 </dev/null &
	echo $! >"$run/$d.pid"
	deadline=$((SECONDS + timeout))
	until ready "$d"; do
		if ! alive "$d"; then
			echo "services: $d exited during start-up; last lines of $logs/$d.log:" >&2
			tail -n 20 "$logs/$d.log" >&2
			exit 1
		fi
		if [ $SECONDS -ge $deadline ]; then
			echo "services: $d not ready after ${timeout}s; last lines of $logs/$d.log:" >&2
			tail -n 20 "$logs/$d.log" >&2
			exit 1
		fi
		sleep 0.2
	done
	echo "services: $d ready on http://127.0.0.1:${port[$d]} (pid $(cat "$run/$d.pid"))"
}

stop() {
	local d=$1 pid i
	alive "$d" || { rm -f "$run/$d.pid"; return 0; }
	pid=$(cat "$run/$d.pid")
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 150); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
	rm -f "$run/$d.pid"
	echo "services: $d stopped"
}

token() { # token SUB EMAIL ROLES
	env JWT_SECRET="$(jwt_secret)" "$bin/api-gateway" token --sub "$1" --email "$2" \
		--roles "$3" --ttl 86400
}

case ${1:-status} in
up)
	[ -f "$dir/env" ] || fail "the local stack is not up; run make infra-up"
	# shellcheck source=/dev/null
	. "$dir/env"
	mkdir -p "$logs" "$run"
	before=0
	for d in "${daemons[@]}"; do
		alive "$d" && before=$((before + 1))
	done
	for d in "${daemons[@]}"; do
		start "$d"
	done
	# Seed once per data folder: seeding sets stock, so a second `make up` must not.
	if [ ! -f "$dir/seeded" ]; then
		(cd "$root" && exec env $(env_for inventory-service) "$bin/inventory-service" seed \
			inventory-service/seed/catalogue.json) >>"$logs/inventory-service.log" 2>&1 ||
			fail "seeding the catalogue failed; see $logs/inventory-service.log"
		touch "$dir/seeded"
		echo "services: catalogue seeded from inventory-service/seed/catalogue.json"
	fi
	# A restart of what was down (after a crash) says only what it restarted.
	if [ "$before" -gt 0 ]; then
		[ "$started" -gt 0 ] || echo "services: all ${#daemons[@]} daemons running"
		exit 0
	fi
	gw=http://127.0.0.1:${port[api-gateway]}
	admin=$(token admin-1 admin@example.com admin)
	customer=$(token customer-42 customer42@example.com customer)
	# The first product of the catalogue, in stock, at its price: the sample
	# order is confirmed.
	read -r sku price < <(jq -r '[.products[] | select(.stock > 0)][0] | "\(.sku) \(.price)"' \
		"$root/inventory-service/seed/catalogue.json")
	cat <<-EOF

		Gateway: $gw   (logs: $logs, e-mails: $dir/mail)
		export ADMIN_TOKEN=$admin
		export TOKEN=$customer

		curl -s -X POST $gw/orders -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
		     -d '{"items":[{"sku":"$sku","quantity":1,"unit_price":"$price"}],"currency":"EUR"}'
		curl -s "$gw/orders/<id>?wait=5" -H "Authorization: Bearer \$TOKEN"
		curl -s $gw/products -H "Authorization: Bearer \$TOKEN"
	EOF
	;;
down)
	for ((i = ${#daemons[@]} - 1; i >= 0; i--)); do
		stop "${daemons[$i]}"
	done
	;;
status)
	rc=0
	for d in "${daemons[@]}"; do
		if alive "$d" && ready "$d"; then
			printf '%-21s ready  pid %s  http://127.0.0.1:%s\n' "$d" "$(cat "$run/$d.pid")" "${port[$d]}"
		elif alive "$d"; then
			printf '%-21s NOT READY  pid %s  (see %s)\n' "$d" "$(cat "$run/$d.pid")" "$logs/$d.log"
			rc=1
		else
			printf '%-21s down\n' "$d"
			rc=1
		fi
	done
	exit $rc
	;;
tokens)
	# For scripts: `eval "$(services.sh tokens)"`.
	echo "export ADMIN_TOKEN=$(token admin-1 admin@example.com admin)"
	echo "export TOKEN=$(token customer-42 customer42@example.com customer)"
	echo "export GATEWAY_URL=http://127.0.0.1:${port[api-gateway]}"
	echo "export MAIL_SPOOL_DIR=$dir/mail"
	;;
logs)
	files=()
	for d in "${daemons[@]}"; do
		[ -f "$logs/$d.log" ] && files+=("$logs/$d.log")
	done
	[ ${#files[@]} -gt 0 ] || fail "no logs yet in $logs"
	exec tail -n 20 -F "${files[@]}"
	;;
*)
	echo "usage: services.sh up|down|status|logs|tokens" >&2
	exit 2
	;;
esac
