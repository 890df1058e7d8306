#!/usr/bin/env bash
# Checks ARCHITECTURE.md's one-way dependencies from the daemons' #include lines:
# a file in <daemon>/src/<layer>/ may include the project headers of the layers
# listed for it below, and nothing else of its daemon. main.c and app.c wire the
# daemon together and may include anything; common's <eda/*.h> and system
# headers are open to every layer, except what a layer must not know: HTTP
# (eda/http*.h) in services/, repositories/, models/ and events/, and no libpq
# call (SQL) above repositories/ and config/. A header next to its file
# ("x_internal.h") is the same layer. The few justified exceptions are listed
# below with their reason.
#
#   layers.sh [DAEMON_DIR...]   default: every */src/main.c's daemon
#
# Exit 0 when every include keeps to the plan, 1 naming each one that does not,
# 2 on a usage error.
set -uo pipefail
cd "$(dirname "$0")/../.."

declare -A may=(
	[routers]="routers services schemas models utils config"
	# The outbox relay reads and marks outbox rows itself: moving rows to Kafka
	# decides nothing, so it needs no service between.
	[events]="events services repositories schemas models utils config"
	[cli]="cli services schemas models utils config"
	[services]="services repositories schemas models utils config"
	[repositories]="repositories models utils config"
	[schemas]="schemas models utils"
	[models]="models utils"
	[config]="config models utils"
	[utils]="utils"
)
# What a layer must not include even from common/ or the system.
declare -A never=(
	[services]="eda/http.h eda/http_router.h"
	[repositories]="eda/http.h eda/http_router.h"
	[models]="eda/http.h eda/http_router.h"
	[events]="eda/http.h eda/http_router.h"
)
# Layers that must not send SQL (PQexec and the like): they go through repositories/.
sql_free=" routers events services schemas models "

# FILE:INCLUDE pairs allowed against the table, each for the reason given.
declare -A exception=(
	# The gateway's upstream engine forwards the server's HTTP requests
	# themselves: it parks and resumes them.
	["api-gateway/src/services/upstream.h:eda/http.h"]=1
	# Long-polls wake on another replica's status change: the LISTEN session
	# belongs to the waiters that it wakes.
	["order-service/src/routers/order_waiters.c:repositories/notify.h"]=1
)

if [ $# -eq 0 ]; then
	set -- $(for m in */src/main.c; do echo "${m%%/src/main.c}"; done)
fi

bad=0
for d in "$@"; do
	if [ ! -d "$d/src" ]; then
		echo "layers.sh: $d/src: no such folder" >&2
		exit 2
	fi
	while IFS= read -r f; do
		rel=${f#"$d"/src/}
		case $rel in
		*/*) layer=${rel%%/*} ;;
		*) continue ;; # main.c, app.c: the wiring
		esac
		allowed=${may[$layer]-}
		if [ -z "$allowed" ]; then
			echo "$f: folder $layer/ is not a layer of ARCHITECTURE.md"
			bad=1
			continue
		fi
		case $sql_free in
		*" $layer "*)
			grep -n -E '\bPQ(exec|send|prepare|describe)[a-zA-Z]*[[:space:]]*\(' "$f" | while IFS=: read -r line _; do
				echo "$f:$line: $layer/ sends SQL (it belongs in repositories/)"
			done | grep . && bad=1
			;;
		esac
		while IFS=: read -r line quoted; do
			inc=${quoted:1}
			[ -n "${exception[$f:$inc]-}" ] && continue
			case " ${never[$layer]-} " in
			*" $inc "*)
				echo "$f:$line: $layer/ must not include $inc"
				bad=1
				continue
				;;
			esac
			[ "${quoted:0:1}" = '<' ] && continue # a system header
			case $inc in
			eda/*) continue ;;
			*/*) target=${inc%%/*} ;;
			app.h) target=app ;;
			*) continue ;; # a header of the same folder
			esac
			case " $allowed " in
			*" $target "*) ;;
			*)
				echo "$f:$line: $layer/ may not include \"$inc\" (allowed: $allowed)"
				bad=1
				;;
			esac
		done < <(grep -n -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]' "$f" |
			sed -E 's/^([0-9]+):[[:space:]]*#[[:space:]]*include[[:space:]]*(["<][^">]*).*/\1:\2/')
	done < <(find "$d/src" -name '*.[ch]' | sort)
done
[ $bad -eq 0 ] && echo "layers: every include keeps to ARCHITECTURE.md"
exit $bad
