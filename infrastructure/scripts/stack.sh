#!/usr/bin/env bash
# The local stack: PostgreSQL (a cluster of our own), Apache Kafka (KRaft, one
# node) and FerretDB (the MongoDB wire protocol, stored in that PostgreSQL),
# all on 127.0.0.1, all data and logs
# under one folder, each process tracked by a pid file so that `down` stops only
# what `up` started.
#
#   stack.sh up | down | status | running | env | clean
#
# `up` starts whatever is down (a crashed server too) and leaves what runs;
# `running` exits 0 when any server of this stack still runs (make uses it to
# tell a restart of a crashed server from a first start).
#
# Environment (defaults): EDA_STACK_DIR (<repo>/.stack), EDA_CACHE_DIR
# (~/.cache/eda-pipeline), EDA_PG_PORT (55432), EDA_KAFKA_PORT (59092),
# EDA_KAFKA_CONTROLLER_PORT (59093), EDA_MONGO_PORT (57017),
# EDA_START_TIMEOUT (seconds per component, 90), EDA_TOPICS_TOOL (the
# topic creator, <repo>/build/bin/eda-topics).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
infra=$root/infrastructure
# shellcheck source=../versions.env
. "$infra/versions.env"

# Absolute: PostgreSQL resolves a relative socket folder from its data folder.
dir=$(realpath -m "${EDA_STACK_DIR:-$root/.stack}")
cache=${EDA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/eda-pipeline}
pg_port=${EDA_PG_PORT:-55432}
kafka_port=${EDA_KAFKA_PORT:-59092}
controller_port=${EDA_KAFKA_CONTROLLER_PORT:-59093}
mongo_port=${EDA_MONGO_PORT:-57017}
timeout=${EDA_START_TIMEOUT:-90}
topics_tool=${EDA_TOPICS_TOOL:-$root/build/bin/eda-topics}
pg_bin=/usr/lib/postgresql/$PG_MAJOR/bin
kafka_libs=$cache/kafka-$KAFKA_VERSION/libs
ferretdb=$cache/ferretdb-$FERRETDB_VERSION/ferretdb
logs=$dir/logs
run=$dir/run

fail() { echo "infra: $*" >&2; exit 1; }

# fail_with_log COMPONENT MESSAGE [HINT]: the one clear line, the log tail, a hint.
fail_with_log() {
	echo "infra: $1: $2" >&2
	if [ -s "$logs/$1.log" ]; then
		echo "---- last lines of $logs/$1.log ----" >&2
		tail -n 25 "$logs/$1.log" >&2
		echo "----" >&2
	fi
	[ -z "${3:-}" ] || echo "infra: $3" >&2
	exit 1
}

for v in pg_port kafka_port controller_port mongo_port timeout; do
	[[ ${!v} =~ ^[0-9]+$ ]] || fail "$v must be a number, got '${!v}'"
done

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

alive() { # alive NAME: our process for NAME runs
	local pid
	[ -f "$run/$1.pid" ] || return 1
	pid=$(cat "$run/$1.pid")
	[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

# wait_for NAME CHECK...: runs CHECK until it succeeds, the process dies or the
# timeout passes; the last two end the script with the log tail.
wait_for() {
	local name=$1 deadline=$((SECONDS + timeout))
	shift
	until "$@" >/dev/null 2>&1; do
		alive "$name" || fail_with_log "$name" "the process exited during start-up" \
			"if its data in $dir is damaged, 'make infra-clean' starts the stack afresh (deleting that data)"
		[ $SECONDS -lt $deadline ] ||
			fail_with_log "$name" "not healthy after ${timeout}s (raise EDA_START_TIMEOUT if the machine is slow)"
		sleep 0.2
	done
}

check_port_free() { # check_port_free NAME PORT VARIABLE
	if port_open "$2"; then
		fail "$1: port $2 on 127.0.0.1 is already in use by another program; free it or set $3 to another port"
	fi
}

as_postgres() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_ready() { "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" -d eda -U eda; }

# ---- PostgreSQL --------------------------------------------------------------

pg_up() {
	local data=$dir/postgres
	[ -x "$pg_bin/postgres" ] || fail "postgres: $pg_bin/postgres not found; run make deps"
	if [ -f "$data/postmaster.pid" ] && pg_ready; then
		return 0
	fi
	check_port_free postgres "$pg_port" EDA_PG_PORT
	# A folder without PG_VERSION is a half-finished initdb: start it again.
	if [ ! -f "$data/PG_VERSION" ]; then
		rm -rf "$data"
		mkdir -p "$data"
		[ "$(id -u)" -ne 0 ] || chown postgres: "$data" "$logs"
		chmod 700 "$data"
		as_postgres "$pg_bin/initdb" -D "$data" -U eda --auth=trust -E UTF8 --locale=C.UTF-8 \
			>"$logs/postgres.log" 2>&1 || fail_with_log postgres "initdb failed"
	fi
	# A stale pid file of a killed server blocks the start; the server is not
	# running (pg_ready said so), so it is safe to remove.
	rm -f "$data/postmaster.pid"
	[ "$(id -u)" -ne 0 ] || chown postgres: "$logs/postgres.log" 2>/dev/null || true
	# Autovacuum runs over 250 ms are logged: an automatic ANALYZE of
	# FerretDB's jsonb tables takes a second of CPU and shows in the saga's
	# latency (README, "Performance").
	as_postgres "$pg_bin/pg_ctl" -D "$data" -l "$logs/postgres.log" -w -t "$timeout" start -o \
		"-c listen_addresses=127.0.0.1 -p $pg_port -c unix_socket_directories='$data' \
		 -c synchronous_commit=on -c max_connections=200 \
		 -c log_autovacuum_min_duration=250ms -c shared_preload_libraries=pg_stat_statements" >/dev/null 2>&1 ||
		fail_with_log postgres "did not start on 127.0.0.1:$pg_port"
	head -n 1 "$data/postmaster.pid" >"$run/postgres.pid"
	wait_for postgres pg_ready
	pg_ensure_db eda "the order service's"
	# The statistics the README's performance notes read (pg_stat_statements
	# is preloaded above; its view lives in the postgres database).
	"$pg_bin/psql" -q -h 127.0.0.1 -p "$pg_port" -U eda -d postgres \
		-c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null 2>&1 ||
		fail_with_log postgres "could not create extension pg_stat_statements"
}

pg_ensure_db() { # pg_ensure_db NAME WHOSE: creates database NAME unless it exists
	"$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U eda -d postgres -tAc \
		"SELECT 1 FROM pg_database WHERE datname = '$1'" | grep -q 1 && return 0
	"$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U eda "$1" ||
		fail_with_log postgres "could not create database $1 ($2 storage)"
}

pg_down() {
	local data=$dir/postgres
	[ -f "$data/postmaster.pid" ] || { rm -f "$run/postgres.pid"; return 0; }
	as_postgres "$pg_bin/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
	rm -f "$run/postgres.pid"
}

# ---- Kafka -------------------------------------------------------------------

kafka_ready() { kcat -b "127.0.0.1:$kafka_port" -L -m 2 2>/dev/null | grep -q '1 brokers'; }

kafka_up() {
	local data=$dir/kafka props=$dir/kafka/server.properties
	alive kafka && kafka_ready && return 0
	[ -d "$kafka_libs" ] || fail "kafka: $kafka_libs missing; run make deps"
	command -v java >/dev/null || fail "kafka: java not found; run make deps"
	check_port_free kafka "$kafka_port" EDA_KAFKA_PORT
	check_port_free kafka "$controller_port" EDA_KAFKA_CONTROLLER_PORT
	mkdir -p "$data"
	cat >"$props" <<-EOF
		process.roles=broker,controller
		node.id=1
		controller.quorum.bootstrap.servers=127.0.0.1:$controller_port
		listeners=PLAINTEXT://127.0.0.1:$kafka_port,CONTROLLER://127.0.0.1:$controller_port
		advertised.listeners=PLAINTEXT://127.0.0.1:$kafka_port,CONTROLLER://127.0.0.1:$controller_port
		controller.listener.names=CONTROLLER
		listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
		inter.broker.listener.name=PLAINTEXT
		log.dirs=$data/log
		num.partitions=6
		auto.create.topics.enable=false
		offsets.topic.replication.factor=1
		offsets.topic.num.partitions=6
		transaction.state.log.replication.factor=1
		transaction.state.log.min.isr=1
		share.coordinator.state.topic.replication.factor=1
		share.coordinator.state.topic.min.isr=1
		group.initial.rebalance.delay.ms=0
	EOF
	# A log folder without meta.properties is a format that did not finish.
	if [ ! -f "$data/log/meta.properties" ]; then
		rm -rf "$data/log"
		java -Xmx256m -cp "$kafka_libs/*" kafka.tools.StorageTool format --standalone \
			-t "$(java -cp "$kafka_libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null)" \
			-c "$props" >"$logs/kafka.log" 2>&1 ||
			fail_with_log kafka "formatting the storage folder failed"
	fi
	nohup java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$infra/kafka/log4j2.yaml" \
		-cp "$kafka_libs/*" kafka.Kafka "$props" >>"$logs/kafka.log" 2>&1 </dev/null &
	echo $! >"$run/kafka.pid"
	wait_for kafka kafka_ready
}

# ---- MongoDB wire protocol: FerretDB ----------------------------------------

# FerretDB keeps its data in the stack's PostgreSQL (database ferretdb, one
# schema per MongoDB database, one jsonb column per table); its PostgreSQL
# handler pushes equality filters down to PostgreSQL (as jsonb containment,
# which scans), where the SQLite handler reads the whole collection for any
# filter but _id. No telemetry, no debug HTTP listener (it would take port
# 8088). Statistics: no FerretDB query can use them (every filter is a
# containment scan, every write by _id goes through a unique index), while
# autovacuum's ANALYZE of a 30,000-document sample of a growing collection
# took 0.9 s of CPU and stalled the saga's tail for two seconds
# (README, "Performance"); a target of 10 samples 3,000 (0.07 s). Memory:
# FerretDB allocates a great deal per request and its live heap is small, so
# the Go collector ran all the time at the default GOGC=100; collecting only
# near a 192 MiB heap (GOGC=off, GOMEMLIMIT) took its CPU in the benchmark
# from 12-13 s to 9-10 s a run for about 200 MB of RSS.
mongo_ready() { port_open "$mongo_port"; }

mongo_up() {
	alive mongo && mongo_ready && return 0
	[ -x "$ferretdb" ] || fail "mongo: $ferretdb missing; run make deps"
	check_port_free mongo "$mongo_port" EDA_MONGO_PORT
	pg_ensure_db ferretdb "FerretDB's"
	"$pg_bin/psql" -q -h 127.0.0.1 -p "$pg_port" -U eda -d postgres \
		-c "ALTER DATABASE ferretdb SET default_statistics_target = 10" ||
		fail_with_log postgres "could not configure database ferretdb"
	mkdir -p "$dir/mongo/state"
	GOGC=off GOMEMLIMIT=192MiB nohup "$ferretdb" --handler=postgresql \
		--postgresql-url="postgres://eda@127.0.0.1:$pg_port/ferretdb" \
		--listen-addr="127.0.0.1:$mongo_port" --state-dir="$dir/mongo/state" \
		--telemetry=disable --debug-addr=- --log-level=warn \
		>"$logs/mongo.log" 2>&1 </dev/null &
	echo $! >"$run/mongo.pid"
	wait_for mongo mongo_ready
}

stop_pid() { # stop_pid NAME: SIGTERM, then SIGKILL after 20 s
	local pid i
	alive "$1" || { rm -f "$run/$1.pid"; return 0; }
	pid=$(cat "$run/$1.pid")
	kill "$pid" 2>/dev/null || true
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
	rm -f "$run/$1.pid"
}

write_env() {
	cat >"$dir/env" <<-EOF
		# Written by infrastructure/scripts/stack.sh; source it to reach the local stack.
		export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$kafka_port
		export DATABASE_URL=postgresql://eda@127.0.0.1:$pg_port/eda
		export MONGODB_URL=mongodb://127.0.0.1:$mongo_port/inventory
		export EDA_STACK_DIR=$dir
	EOF
}

timed() { # timed NAME FUNCTION: runs FUNCTION and says how long it took
	local t0=$EPOCHREALTIME
	"$2"
	awk -v n="$1" -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "infra: %-9s healthy (%.1f s)\n", n, b - a }'
}

create_topics() {
	[ -x "$topics_tool" ] || fail "kafka: topic tool $topics_tool missing; run make (it is built with the daemons)"
	"$topics_tool" "127.0.0.1:$kafka_port" "$infra/kafka/topics.conf" >>"$logs/topics.log" 2>&1 ||
		fail_with_log topics "creating the topics of $infra/kafka/topics.conf failed"
}

cmd=${1:-status}
case $cmd in
up)
	mkdir -p "$logs" "$run"
	chmod 755 "$dir" "$logs"
	timed postgres pg_up
	timed kafka kafka_up
	timed mongo mongo_up
	timed topics create_topics
	write_env
	echo "infra: up; source $dir/env for KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL, MONGODB_URL"
	;;
down)
	stop_pid mongo
	stop_pid kafka
	pg_down
	echo "infra: down"
	;;
running)
	for name in postgres kafka mongo; do
		alive "$name" && exit 0
	done
	exit 1
	;;
status)
	rc=0
	report() { # report NAME CHECK...
		local name=$1
		shift
		if "$@" >/dev/null 2>&1; then
			printf '%-9s up    %s\n' "$name" "$(cat "$run/$name.pid" 2>/dev/null || echo '?')"
		else
			printf '%-9s down\n' "$name"
			rc=1
		fi
	}
	report postgres pg_ready
	report kafka kafka_ready
	report mongo mongo_ready
	printf 'ports: postgres %s, kafka %s (controller %s), mongo %s; data and logs: %s\n' \
		"$pg_port" "$kafka_port" "$controller_port" "$mongo_port" "$dir"
	exit $rc
	;;
env)
	mkdir -p "$dir"
	write_env
	cat "$dir/env"
	;;
clean)
	"$0" down
	rm -rf "$dir"
	echo "infra: removed $dir"
	;;
*)
	echo "usage: stack.sh up|down|status|env|clean" >&2
	exit 2
	;;
esac
