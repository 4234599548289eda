#!/usr/bin/env bash
# Replication figures on this machine (all processes share its cores):
#   1. put throughput and p99 on a master without replicas, and with one
#      replica at min-replicas 0 and 1;
#   2. replica lag while the master takes that load;
#   3. failover time: kill -9 of a master to the first successful put to
#      one of its slots, with the default failure detector and a tuned one.
#
#   scripts/bench-repl.sh [REQUESTS] [FAILOVER_RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-50000}
runs=${2:-3}
tmp=$(mktemp -d)
cleanup() {
	kill -9 $(jobs -p) 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
go build -o "$tmp/lkv" ./cmd/lkv
lkv="$tmp/lkv"

start() { # name port gossip role [join] [extra...]
	local name=$1 port=$2 gossip=$3 role=$4 join=${5:-}
	shift 5 || shift $#
	local j=()
	[ -n "$join" ] && j=(--join "$join")
	"$lkv" agent --node-id "$name" --data-dir "$tmp/$name" --port "$port" --gossip-port "$gossip" --http-port -1 \
		--sync always --executors -1 --log-level warn --role "$role" "${j[@]}" "$@" >"$tmp/$name.log" 2>&1 &
	echo $! >"$tmp/$name.pid"
}
# ready PORT MASTERS REPLICAS: slots covered, and that many streaming replicas.
ready() {
	for _ in $(seq 300); do
		local nodes
		nodes=$("$lkv" --addr "127.0.0.1:$1" cluster nodes --json 2>/dev/null || true)
		if "$lkv" --addr "127.0.0.1:$1" cluster info --json 2>/dev/null | grep -q '"slots_covered": 16384' &&
			[ "$(grep -c '"role": "master"' <<<"$nodes")" = "$2" ] &&
			[ "$(grep -c '"link": "streaming"' <<<"$nodes")" = "$3" ]; then
			sleep 1 # let the last slot moves finish
			return
		fi
		sleep 0.2
	done
	echo "cluster on port $1 did not form" >&2
	exit 1
}
bench() { # port pipeline min-replicas -> "ops/s p99"
	"$lkv" --addr "127.0.0.1:$1" bench put -c 50 -P "$2" -n "$n" -r 100000 --min-replicas "$3" --json |
		sed -n 's/.*"ops_per_sec": *\([0-9.]*\).*"p99_ms": *\([0-9.]*\).*/\1 \2/p'
}
stopall() {
	kill -9 $(jobs -p) 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$tmp"/n* "$tmp"/solo*
}

echo "## put with and without a replica ($n puts, 50 clients, 100 B, sync always)"
echo
start solo 7570 7571 master ""
ready 7570 1 0
start m 7580 7581 master ""
start r 7582 7583 replica 127.0.0.1:7581
ready 7580 1 1
echo "| pipeline | no replica ops/s | p99 ms | replica, min-replicas 0 ops/s | p99 ms | min-replicas 1 ops/s | p99 ms |"
echo "|---|---|---|---|---|---|---|"
for p in 1 16; do
	read -r a ap <<<"$(bench 7570 "$p" 0)"
	read -r b bp <<<"$(bench 7580 "$p" 0)"
	read -r c cp <<<"$(bench 7580 "$p" 1)"
	printf '| %s | %.0f | %s | %.0f | %s | %.0f | %s |\n' "$p" "$a" "$ap" "$b" "$bp" "$c" "$cp"
done

echo
echo "## replica lag under load (min-replicas 0, pipeline 16, sampled every 0.5 s)"
echo
"$lkv" --addr 127.0.0.1:7580 bench put -c 50 -P 16 -n "$((n * 4))" -r 100000 --json >/dev/null &
load=$!
maxlag=0
maxms=0
samples=0
while kill -0 "$load" 2>/dev/null; do
	line=$("$lkv" --addr 127.0.0.1:7580 cluster nodes --json 2>/dev/null | tr -d '\n ' | grep -o '"id":"r"[^}]*' || true)
	lag=$(sed -n 's/.*"lag":\([0-9]*\).*/\1/p' <<<"$line")
	ms=$(sed -n 's/.*"lag_ms":\(-\{0,1\}[0-9]*\).*/\1/p' <<<"$line")
	if [ -n "$lag" ]; then
		samples=$((samples + 1))
		[ "$lag" -gt "$maxlag" ] && maxlag=$lag
		[ "${ms:-0}" -gt "$maxms" ] && maxms=$ms
	fi
	sleep 0.5
done
wait "$load" || true
echo "samples: $samples, largest lag seen: $maxlag writes, $maxms ms"
stopall

echo
echo "## failover: kill -9 of a master to the first successful put to one of its slots"
echo
failover() { # extra agent flags...
	start n1 7610 7611 master "" "$@"
	start n2 7612 7613 master 127.0.0.1:7611 "$@"
	start n3 7614 7615 master 127.0.0.1:7611 "$@"
	start n4 7616 7617 replica 127.0.0.1:7611 "$@"
	start n5 7618 7619 replica 127.0.0.1:7611 "$@"
	start n6 7620 7621 replica 127.0.0.1:7611 "$@"
	ready 7612 3 3
	local key="" i=0
	while [ -z "$key" ]; do
		if "$lkv" --addr 127.0.0.1:7612 stat "probe-$i" --json | grep -q '"owner": "n1"'; then key="probe-$i"; fi
		i=$((i + 1))
	done
	local t0 t1
	t0=$(date +%s%N)
	kill -9 "$(cat "$tmp/n1.pid")"
	until echo x | "$lkv" --addr 127.0.0.1:7612 --timeout 1s put "$key" - 2>/dev/null; do sleep 0.02; done
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
	stopall
}
echo "| detector | runs (ms) |"
echo "|---|---|"
d=()
for _ in $(seq "$runs"); do d+=("$(failover)"); done
echo "| default (probe 500ms, suspicion x4) | ${d[*]} |"
t=()
for _ in $(seq "$runs"); do t+=("$(failover --probe-interval 200ms --suspicion-mult 3)"); done
echo "| tuned (probe 200ms, suspicion x3) | ${t[*]} |"
