#!/usr/bin/env bash
# Runs lkv bench and redis-benchmark side by side on this machine, in one run,
# and prints a Markdown table with the ratios. Needs redis-server and
# redis-benchmark (Debian: apt-get install redis-server redis-tools).
#
#   scripts/bench-redis.sh [REQUESTS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

go build -o "$tmp/lkv" ./cmd/lkv
redis-server --port 6390 --save '' --appendonly yes --appendfsync everysec \
	--dir "$tmp" --daemonize no >"$tmp/redis.log" 2>&1 &
"$tmp/lkv" agent --data-dir "$tmp/data" --port 7390 --http-port 7391 --sync always \
	--log-level warn >"$tmp/lkv.log" 2>&1 &
for _ in $(seq 50); do
	redis-cli -p 6390 ping >/dev/null 2>&1 && "$tmp/lkv" --addr 127.0.0.1:7390 cluster info >/dev/null 2>&1 && break
	sleep 0.2
done

echo "| op | value | pipeline | lkv ops/s | lkv p50 ms | lkv p99 ms | redis ops/s | redis p50 ms | lkv / redis |"
echo "|---|---|---|---|---|---|---|---|---|"
for size in 100 4096; do
	for p in 1 16; do
		for op in put get; do
			rop=$([ $op = get ] && echo get || echo set)
			r=$(redis-benchmark -p 6390 -c 50 -n "$n" -r 100000 -d "$size" -P "$p" -t "$rop" --csv 2>/dev/null | tail -1)
			rops=$(echo "$r" | awk -F'","' '{print $2}')
			rp50=$(echo "$r" | awk -F'","' '{print $5}')
			l=$("$tmp/lkv" --addr 127.0.0.1:7390 bench "$op" --clients 50 --pipeline "$p" \
				--value-size "$size" --requests "$n" --keyspace 100000 --json)
			lops=$(echo "$l" | sed -n 's/.*"ops_per_sec": *\([0-9.]*\).*/\1/p')
			lp50=$(echo "$l" | sed -n 's/.*"p50_ms": *\([0-9.]*\).*/\1/p')
			lp99=$(echo "$l" | sed -n 's/.*"p99_ms": *\([0-9.]*\).*/\1/p')
			ratio=$(awk -v a="$lops" -v b="$rops" 'BEGIN{ if (b > 0) printf "%.2f", a/b }')
			printf '| %s | %s B | %s | %.0f | %s | %s | %.0f | %s | %s |\n' \
				"$op" "$size" "$p" "$lops" "$lp50" "$lp99" "$rops" "$rp50" "$ratio"
		done
	done
done
