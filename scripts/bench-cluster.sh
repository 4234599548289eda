#!/usr/bin/env bash
# GET and PUT throughput of lkv bench against one node and against a
# three-node cluster on this machine, side by side. All processes share the
# machine's cores.
#
#   scripts/bench-cluster.sh [REQUESTS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
go build -o "$tmp/lkv" ./cmd/lkv
lkv="$tmp/lkv"

start() { # name port gossip [join]
	local join=()
	[ -n "${4:-}" ] && join=(--join "$4")
	"$lkv" agent --node-id "$1" --data-dir "$tmp/$1" --port "$2" --gossip-port "$3" --http-port -1 \
		--sync always --executors -1 --log-level warn "${join[@]}" >"$tmp/$1.log" 2>&1 &
}
ready() { # port nodes
	for _ in $(seq 150); do
		if "$lkv" --addr "127.0.0.1:$1" cluster info --json 2>/dev/null | grep -q '"slots_covered": 16384' &&
			[ "$("$lkv" --addr "127.0.0.1:$1" cluster nodes --json | grep -c '"state": "alive"')" = "$2" ]; then
			return
		fi
		sleep 0.2
	done
	echo "cluster on port $1 did not form" >&2; exit 1
}
bench() { # port op pipeline
	"$lkv" --addr "127.0.0.1:$1" bench "$2" -c 50 -P "$3" -n "$n" -r 100000 --json |
		sed -n 's/.*"ops_per_sec": *\([0-9.]*\).*/\1/p'
}

start solo 7470 7471
ready 7470 1
start n1 7480 7481
start n2 7482 7483 127.0.0.1:7481
start n3 7484 7485 127.0.0.1:7483
ready 7480 3
sleep 2 # let the slot moves finish

echo "| op | pipeline | 1 node ops/s | 3 nodes ops/s | ratio |"
echo "|---|---|---|---|---|"
for p in 1 16; do
	for op in put get; do
		one=$(bench 7470 "$op" "$p")
		three=$(bench 7480 "$op" "$p")
		printf '| %s | %s | %.0f | %.0f | %.2f |\n' "$op" "$p" "$one" "$three" "$(awk -v a="$three" -v b="$one" 'BEGIN{print a/b}')"
	done
done
