#!/usr/bin/env bash
# Gateway benchmark (issue 7): wrk with a valid token straight at a trivial
# upstream and then through the api-gateway to it, in one run, at full load;
# then both again at half the gateway's peak rate to compare p99 latency.
# Prints requests/s, p99 and the ratios, the gateway's peak RSS, and the CPU
# time the gateway and the upstream spent per request in the peak runs: on a
# shared machine that figure moves much less than requests/s.
#
#   bench/api-gateway/run.sh            (from anywhere; needs wrk: apt-get install wrk)
#   DURATION=30 CONNS=128 bench/api-gateway/run.sh
#
# When nginx is installed (apt-get install nginx-light; make deps does not
# install it, a package that starts a server on port 80 is no build dependency)
# the peak step also runs through nginx as a plain keep-alive reverse proxy to
# the same upstream, with as many workers as the gateway has threads: the
# figure a well-known C proxy reaches on the same machine, without
# authentication or header rewriting. NGINX=none skips it.
set -euo pipefail
cd "$(dirname "$0")/../.."

BUILD=${BUILD:-build}
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
HALF_CONNS=${HALF_CONNS:-32}
UP_PORT=${UP_PORT:-18101}
GW_PORT=${GW_PORT:-18100}
GW_THREADS=${GW_THREADS:-2}
NGX_PORT=${NGX_PORT:-18102}
NGINX=${NGINX:-$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || echo none)}
OUT=${OUT:-$BUILD/bench/api-gateway}

command -v wrk >/dev/null || { echo "run.sh: wrk is missing (apt-get install wrk)" >&2; exit 1; }
make -s BUILD="$BUILD" "$BUILD/bin/api-gateway"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
cc -O2 -Wall -o "$OUT/upstream" bench/api-gateway/upstream.c -lmicrohttpd -lpthread

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

"$OUT/upstream" "$UP_PORT" 1 &
up_pid=$!
pids+=($up_pid)
export JWT_SECRET=bench-secret-0123456789abcdef-0123456789
PORT=$GW_PORT BIND_ADDR=127.0.0.1 HTTP_THREADS=$GW_THREADS LOG_LEVEL=warn \
	ORDER_SERVICE_URL=http://127.0.0.1:$UP_PORT INVENTORY_SERVICE_URL=http://127.0.0.1:$UP_PORT \
	RATE_LIMIT_PER_SECOND=0 OPENAPI_FILE=api-gateway/openapi.json \
	"$BUILD/bin/api-gateway" 2>"$OUT/gateway.log" &
gw_pid=$!
pids+=($gw_pid)
# Waits up to 10 s for a URL to answer 2xx; returns 1 if it never does.
ready_within_10s() { # url
	for _ in $(seq 100); do
		curl -fs "$1" >/dev/null && return 0
		sleep 0.1
	done
	return 1
}
ready_within_10s "http://127.0.0.1:$GW_PORT/readyz" ||
	{ echo "run.sh: gateway not ready; see $OUT/gateway.log" >&2; exit 1; }
TOKEN=$("$BUILD/bin/api-gateway" token --sub bench --roles customer)
AUTH="Authorization: Bearer $TOKEN"

# wrk's "99%" line in milliseconds.
p99_ms() { awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
	f = (u == "us") ? 0.001 : (u == "s") ? 1000 : 1; printf "%.3f", v * f }' "$1"; }
rps() { awk '/^Requests\/sec/ { printf "%.0f", $2 }' "$1"; }

run() { # name url conns [lua]
	local name=$1 url=$2 conns=$3 lua=${4:-}
	wrk -t"$THREADS" -c"$conns" -d"${DURATION}s" --latency -H "$AUTH" ${lua:+-s "$lua"} "$url" \
		>"$OUT/$name.txt"
	grep -q "Non-2xx" "$OUT/$name.txt" && { echo "$name: non-2xx answers" >&2; cat "$OUT/$name.txt" >&2; exit 1; }
	printf '%-22s %10s req/s   p99 %8s ms\n' "$name" "$(rps "$OUT/$name.txt")" "$(p99_ms "$OUT/$name.txt")"
}

# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# Requests wrk completed in a run.
requests() { awk '/requests in/ { print $1 }' "$1"; }
# Microseconds of CPU per request from a tick difference and a request count.
us_per_req() { awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" \
	'BEGIN { printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0) }'; }

echo "== peak: $CONNS connections, $THREADS wrk threads, ${DURATION}s each"
u0=$(cpu_ticks "$up_pid")
run direct-peak "http://127.0.0.1:$UP_PORT/orders/o-1" "$CONNS"
u1=$(cpu_ticks "$up_pid")
g1=$(cpu_ticks "$gw_pid")
run gateway-peak "http://127.0.0.1:$GW_PORT/orders/o-1" "$CONNS"
u2=$(cpu_ticks "$up_pid")
g2=$(cpu_ticks "$gw_pid")
if [ "$NGINX" != none ] && (exec 3<>"/dev/tcp/127.0.0.1/$NGX_PORT") 2>/dev/null; then
	echo "run.sh: port $NGX_PORT is taken (set NGX_PORT); nginx reference skipped" >&2
	NGINX=none
fi
if [ "$NGINX" != none ]; then
	mkdir -p "$OUT/nginx"
	cat >"$OUT/nginx/nginx.conf" <<-EOF
		worker_processes $GW_THREADS;
		daemon off;
		pid $OUT/nginx/nginx.pid;
		error_log $OUT/nginx/error.log warn;
		events { worker_connections $((2 * CONNS + 64)); }
		http {
		    access_log off;
		    client_body_temp_path $OUT/nginx/body;
		    proxy_temp_path $OUT/nginx/proxy;
		    fastcgi_temp_path $OUT/nginx/fastcgi;
		    uwsgi_temp_path $OUT/nginx/uwsgi;
		    scgi_temp_path $OUT/nginx/scgi;
		    upstream bench { server 127.0.0.1:$UP_PORT; keepalive $CONNS; }
		    server {
		        listen 127.0.0.1:$NGX_PORT;
		        location / {
		            proxy_pass http://bench;
		            proxy_http_version 1.1;
		            proxy_set_header Connection "";
		        }
		    }
		}
	EOF
	"$NGINX" -p "$OUT/nginx" -e "$OUT/nginx/error.log" -c "$OUT/nginx/nginx.conf" \
		2>>"$OUT/nginx/error.log" &
	ngx_pid=$!
	pids+=($ngx_pid)
	if ready_within_10s "http://127.0.0.1:$NGX_PORT/orders/o-1" && kill -0 "$ngx_pid" 2>/dev/null; then
		# The workers do the work; the master only watches them.
		ngx_ticks() { local t=0 w; for w in $(pgrep -P "$ngx_pid"); do t=$((t + $(cpu_ticks "$w"))); done; echo "$t"; }
		n1=$(ngx_ticks)
		run nginx-peak "http://127.0.0.1:$NGX_PORT/orders/o-1" "$CONNS"
		n2=$(ngx_ticks)
	else
		# Only a reference: the gateway's figures do not depend on it.
		echo "run.sh: nginx did not answer on port $NGX_PORT (see $OUT/nginx/error.log); reference skipped" >&2
		NGINX=none
	fi
	kill "$ngx_pid" 2>/dev/null || true
	wait "$ngx_pid" 2>/dev/null || true
fi
direct=$(rps "$OUT/direct-peak.txt")
gw=$(rps "$OUT/gateway-peak.txt")
n_direct=$(requests "$OUT/direct-peak.txt")
n_gw=$(requests "$OUT/gateway-peak.txt")

# Half the gateway's peak: each of HALF_CONNS connections waits DELAY ms
# between requests (wrk has no fixed-rate mode; wrk2 is not in Debian).
delay=$(( HALF_CONNS * 1000 * 2 / gw ))
[ "$delay" -ge 1 ] || delay=1
printf 'local d = %d\nfunction delay() return d end\n' "$delay" >"$OUT/delay.lua"
echo "== half rate: target $(( gw / 2 )) req/s ($HALF_CONNS connections, ${delay} ms apart)"
run direct-half "http://127.0.0.1:$UP_PORT/orders/o-1" "$HALF_CONNS" "$OUT/delay.lua"
run gateway-half "http://127.0.0.1:$GW_PORT/orders/o-1" "$HALF_CONNS" "$OUT/delay.lua"

rss=$(awk '/VmHWM/ { print $2 / 1024 }' "/proc/$gw_pid/status")
echo "== summary"
awk -v d="$direct" -v g="$gw" 'BEGIN { printf "throughput kept: %.1f%% of direct (target >= 60%%)\n", 100 * g / d }'
awk -v a="$(p99_ms "$OUT/direct-half.txt")" -v b="$(p99_ms "$OUT/gateway-half.txt")" \
	'BEGIN { printf "p99 added at half peak: %.3f ms (target < 1 ms)\n", b - a }'
printf 'gateway peak RSS: %.1f MB (target < 32 MB)\n' "$rss"
echo "CPU per request (peak runs): gateway $(us_per_req $((g2 - g1)) "$n_gw") us," \
	"upstream $(us_per_req $((u2 - u1)) "$n_gw") us behind it," \
	"$(us_per_req $((u1 - u0)) "$n_direct") us direct"
if [ "$NGINX" != none ]; then
	awk -v d="$direct" -v g="$(rps "$OUT/nginx-peak.txt")" -v c="$(us_per_req $((n2 - n1)) "$(requests "$OUT/nginx-peak.txt")")" \
		'BEGIN { printf "reference: nginx as a plain proxy keeps %.1f%% of direct, %s us of CPU per request\n", 100 * g / d, c }'
else
	echo "reference: nginx not measured (not installed: apt-get install nginx-light; NGINX=none; or it failed to start)"
fi
echo "raw wrk output: $OUT/"
