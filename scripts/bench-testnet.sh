#!/usr/bin/env bash
# Benchmark a four-validator ipledger network on loopback, as issue 6 asks: committed
# signed tx/s and POST-to-commit latency with all four validators up, then with one down.
#
#   scripts/bench-testnet.sh [-n VALIDATORS] [-o ORGS] [-d DURATION] [-b IPLEDGER_BINARY]
#
# Each node runs as its own `ipledger node` process; `ipledger bench load` spreads its
# clients over the nodes that are up. The block interval comes from each run's change in
# ipledger_block_interval_seconds on node0. Compare with ../shared/bench/cometbase's
# four-validator network run in the same session (see docs/BENCHMARKS.md).
set -euo pipefail
n=4 orgs=1000 dur=20s bin=""  # at most 1024 orgs: each run takes one /8
while getopts "n:o:d:b:" opt; do
  case $opt in
    n) n=$OPTARG ;; o) orgs=$OPTARG ;; d) dur=$OPTARG ;; b) bin=$OPTARG ;;
    *) echo "usage: $0 [-n VALIDATORS] [-o ORGS] [-d DURATION] [-b BINARY]" >&2; exit 2 ;;
  esac
done
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/ipledger-bench-testnet.XXXXXX)
if [ -z "$bin" ]; then
  bin=$work/ipledger
  (cd "$here" && go build -o "$bin" ./cmd/ipledger)
fi
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$bin" testnet --validators "$n" --dir "$work/net" >/dev/null
json=$work/net/testnet.json
field() { python3 -c "import json,sys; t=json.load(open('$json')); print(t['nodes'][$1]['$2'])"; }
ripe=$(python3 -c "import json; t=json.load(open('$json')); print([i for i,x in enumerate(t['nodes']) if 'RIPE-NCC' in (x.get('registries') or [])][0])")
for i in $(seq 0 $((n - 1))); do
  "$bin" node --home "$work/net/node$i" --trusted-clients 127.0.0.1 >"$work/node$i.log" 2>&1 &
  pids+=($!)
done
urls=()
for i in $(seq 0 $((n - 1))); do
  u="http://$(field "$i" http)"
  urls+=("$u")
  for _ in $(seq 1 300); do curl -sf "$u/v1/status" >/dev/null && break; sleep 0.1; done
done
# Wait for the first blocks so that every node is past genesis.
for _ in $(seq 1 300); do
  h=$(curl -sf "${urls[0]}/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["height"])')
  [ "$h" -ge 2 ] && break; sleep 0.1
done
interval() { curl -sf "$1/metrics" | awk '/^ipledger_block_interval_seconds_(sum|count)/ {print $2}' | paste -sd' '; }
run() { # run LABEL BASE URL... (BASE: a free RIPE NCC /8 for this run's organisations)
  local label=$1 base=$2; shift 2
  local before after
  before=$(interval "$1")
  echo "== $label: $* "
  "$bin" bench load --home "$work/net/node$ripe" --node "$(IFS=,; echo "$*")" --base "$base" --orgs "$orgs" --duration "$dur"
  after=$(interval "$1")
  python3 -c "b='$before'.split(); a='$after'.split(); s=float(a[0])-float(b[0]); c=float(a[1])-float(b[1]); print(f'block interval on {\"$1\"}: {s/c*1000:.0f} ms over {c:.0f} blocks')"
}
run "all $n validators up" 193.0.0.0 "${urls[@]}"
# One validator down: not the one whose key signs the set-up, and not node0 (metrics).
down=$(( n - 1 )); [ "$down" -eq "$ripe" ] && down=$(( n - 2 ))
kill "${pids[$down]}"; wait "${pids[$down]}" 2>/dev/null || true
up=(); for i in $(seq 0 $((n - 1))); do [ "$i" -ne "$down" ] && up+=("${urls[$i]}"); done
run "node$down down" 194.0.0.0 "${up[@]}"
