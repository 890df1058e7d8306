#!/usr/bin/env bash
# Runs check test programs one after another against the local stack and adds up
# their results. Each program prints check's own summary line; the last line here
# is the total. Exit status 1 if any test failed or any program did not finish.
#
#   run-tests.sh PROGRAM...
#
# Environment: EDA_STACK_DIR (stack addresses are read from its env file),
# EDA_TEST_TIMEOUT (seconds per program, default 900).
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
stack_env=${EDA_STACK_DIR:-$root/.stack}/env
[ -f "$stack_env" ] && . "$stack_env"
export CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-120}
export CK_VERBOSITY=${CK_VERBOSITY:-normal}

# Every suite makes topics (and DLQs) of its own; those this run made are
# deleted at the end, or a local broker collects thousands and slows down. Only
# when the list before the run could be read; the stack's own topics stay. The
# suites name their topics with this run's tag (ts_unique reads EDA_TEST_RUN),
# so a second run on the same stack, at the same time, keeps its topics (the
# system suites write the tag with '_' for '-', as database names need).
export EDA_TEST_RUN=${EDA_TEST_RUN:-run$$r$RANDOM}
topics_tool=${EDA_BIN_DIR:-$root/build/bin}/eda-topics
topics_before=$(mktemp)
list_topics() {
	[ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ] && [ -x "$topics_tool" ] &&
		"$topics_tool" "$KAFKA_BOOTSTRAP_SERVERS" --list 2>/dev/null | LC_ALL=C sort
}
list_topics >"$topics_before" && have_topics=1 || have_topics=0
delete_new_topics() {
	local after
	after=$(mktemp)
	if [ "$have_topics" -eq 1 ] && list_topics >"$after"; then
		LC_ALL=C comm -13 "$topics_before" "$after" | grep -E -- "[-_]$EDA_TEST_RUN[-_]" |
			grep -vxF -f <(awk '!/^#/ && NF {print $1}' "$root/infrastructure/kafka/topics.conf") |
			"$topics_tool" "$KAFKA_BOOTSTRAP_SERVERS" --delete - | sed 's/^eda-topics: /run-tests: /'
	fi
	rm -f "$topics_before" "$after"
}

# No suite may write to the running system's topics (topic-guard.sh says how
# it tells a suite's writes from a `make up` running beside the tests).
guard=$root/infrastructure/scripts/topic-guard.sh guard_offsets=$(mktemp)
"$guard" record "$guard_offsets"

passed=0 failed=0 broken=() failures_seen=()
for prog in "$@"; do
	echo "== ${prog#"$root"/}"
	out=$(mktemp)
	timeout --kill-after=10 "${EDA_TEST_TIMEOUT:-900}" "$prog" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	# check: "100%: Checks: 3, Failures: 0, Errors: 0"
	# check: "path.c:42:F:case:test_name:0: message" (E for errors); repeated
	# at the end so a failure is visible in a truncated log.
	while IFS= read -r line; do
		failures_seen+=("${prog##*/}: $line")
	done < <(grep -E '^[^ ]+:[0-9]+:[FE]:' "$out")
	summary=$(grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$out" | tail -n 1)
	rm -f "$out"
	if [ -z "$summary" ]; then
		echo "run-tests: $prog ended (status $rc) without a check summary"
		failed=$((failed + 1))
		broken+=("$prog")
		continue
	fi
	read -r checks failures errors < <(echo "$summary" |
		sed -E 's/.*Checks: ([0-9]+), Failures: ([0-9]+), Errors: ([0-9]+).*/\1 \2 \3/')
	passed=$((passed + checks - failures - errors))
	failed=$((failed + failures + errors))
	[ "$rc" -eq 0 ] || [ $((failures + errors)) -gt 0 ] || {
		failed=$((failed + 1))
		broken+=("$prog")
	}
done
delete_new_topics
if ! "$guard" check "$guard_offsets"; then
	failed=$((failed + 1))
	broken+=("(topic guard: the running system's topics were written to)")
fi
rm -f "$guard_offsets"
for line in "${failures_seen[@]}"; do
	echo "run-tests: FAILED $line"
done
[ ${#broken[@]} -eq 0 ] || echo "run-tests: programs that did not finish cleanly: ${broken[*]}"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
