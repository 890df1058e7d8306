#!/usr/bin/env bash
# Guards the running system's topics against the test suites (run-tests.sh
# calls it around a run): no suite may write to `orders`, `inventory`,
# `payments` or `products` of the local stack; each makes topics of its own.
#
#   topic-guard.sh record FILE   end offset of every partition of those topics
#   topic-guard.sh check FILE    compare with now; exit 1 naming what a suite wrote
#
# A developer's `make up` may be running during `make test` and writes its own
# events there, so what counts depends on it:
#   - no `make up` daemon alive (.stack/run/<daemon>.pid): any new message is a
#     suite's, and fails the check;
#   - one alive: its traffic moves the offsets too, so only new messages that
#     are not events of this project (not a CloudEvents envelope of a type in
#     common/schemas/) fail it: what the daemons would dead-letter.
# Without kcat or a broker address it says so and checks nothing (exit 0).
#
# Environment: KAFKA_BOOTSTRAP_SERVERS, EDA_STACK_DIR, EDA_GUARDED_TOPICS.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
# EDA_GUARDED_TOPICS replaces the list (the guard's own test points it at a
# topic of its own).
read -r -a topics <<<"${EDA_GUARDED_TOPICS:-orders inventory payments products}"
daemons=(order-service inventory-service notification-service api-gateway)
boot=${KAFKA_BOOTSTRAP_SERVERS:-}
usable() { [ -n "$boot" ] && command -v kcat >/dev/null && command -v jq >/dev/null; }

# "TOPIC PARTITION END" per partition, sorted; topics that do not exist are left out.
offsets() {
	local t p args
	for t in "${topics[@]}"; do
		args=()
		for p in $(kcat -b "$boot" -m 10 -L -t "$t" -J 2>/dev/null |
			jq -r '.topics[0] | select(.error == null) | .partitions[]?.partition'); do
			args+=(-t "$t:$p:-1")
		done
		[ ${#args[@]} -eq 0 ] && continue
		kcat -b "$boot" -m 10 -Q "${args[@]}" 2>/dev/null |
			sed -nE 's/^([^ ]+) \[([0-9]+)\] offset ([0-9]+)$/\1 \2 \3/p'
	done | LC_ALL=C sort
}

make_up_running() {
	local d pid run=${EDA_STACK_DIR:-$root/.stack}/run
	for d in "${daemons[@]}"; do
		pid=$(cat "$run/$d.pid" 2>/dev/null) || continue
		[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && return 0
	done
	return 1
}

# Prints the messages of TOPIC/PARTITION from offset FROM to TO (exclusive)
# that are not events of this project, one summary line each.
non_events() {
	local t=$1 p=$2 from=$3 to=$4 types
	types=$(find "$root/common/schemas" -name '[A-Z]*.json' ! -name envelope.json \
		-printf '%f\n' | sed 's/\.json$//' | jq -R . | jq -sc .)
	kcat -b "$boot" -m 10 -C -t "$t" -p "$p" -o "$from" -c $((to - from)) -e -q -f '%s\n' 2>/dev/null |
		jq -Rrc --argjson types "$types" '
			(try fromjson catch null) as $e
			| if ($e | type) == "object" and $e.specversion == "1.0" and ($e.id | type) == "string"
			     and ($e.source | type) == "string" and ($types | index($e.type)) != null
			  then empty else "not an event of this project: \(. | .[0:120])" end'
}

case ${1:-} in
record)
	[ $# -eq 2 ] || { echo "usage: topic-guard.sh record FILE" >&2; exit 2; }
	if usable; then offsets >"$2"; else : >"$2"; fi
	;;
check)
	[ $# -eq 2 ] || { echo "usage: topic-guard.sh check FILE" >&2; exit 2; }
	usable && [ -s "$2" ] || {
		echo "topic-guard: no broker address, kcat or offsets recorded: topics not checked"
		exit 0
	}
	bad=0
	up=0
	make_up_running && up=1
	now=$(offsets)
	while read -r t p before; do
		after=$(echo "$now" | awk -v t="$t" -v p="$p" '$1 == t && $2 == p {print $3}')
		[ -n "$after" ] && [ "$after" -gt "$before" ] || continue
		if [ "$up" -eq 0 ]; then
			echo "topic-guard: a suite wrote $((after - before)) messages to the running system's topic $t (partition $p, offsets $before..$((after - 1))); tests must use topics of their own"
			bad=1
		else
			while IFS= read -r line; do
				echo "topic-guard: $t partition $p: $line"
				bad=1
			done < <(non_events "$t" "$p" "$before" "$after")
		fi
	done <"$2"
	[ "$bad" -eq 0 ] || exit 1
	;;
*)
	echo "usage: topic-guard.sh record|check FILE" >&2
	exit 2
	;;
esac
