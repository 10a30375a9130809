#!/usr/bin/env bash
# Media benchmark against the release server on loopback (demo data, SQLite, local storage):
#   1. upload throughput of a 50 MB file (raw body, streamed to storage) and the server's
#      resident memory before and after (constant memory: the file is never held whole);
#   2. serving stored image variants at 16 connections: the demo's 8 pictures × 3 widths (24
#      different variants, computed once before the run, then read from storage on every
#      request: no response cache sits in front of them).
#
#   bench/media-load.sh
#
# Needs wrk (apt-get install -y wrk) and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-10s}; conns=${CONNECTIONS:-16}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
cargo build --release -p zellige --bin zellige >&2
bin=${CARGO_TARGET_DIR:-target}/release
data=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$data"' EXIT
export ZELLIGE_DATA_DIR=$data RUST_LOG=warn
port=$((20000 + RANDOM % 20000))
"$bin/zellige" serve --demo --bind 127.0.0.1:$port > "$data/serve.log" &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
token=$(grep -m1 'editor token' "$data/serve.log" | awk '{print $3}')
rss() { echo $(( $(ps -o rss= -p $server) / 1024 )); }

# 1. A 50 MB MP4-typed file (an `ftyp` box, then noise).
python3 - "$data/big.mp4" <<'PY'
import os, sys
with open(sys.argv[1], "wb") as f:
    f.write(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2")
    f.write(os.urandom(50 * 1000 * 1000 - 24))
PY
before=$(rss)
t0=$(date +%s.%N)
code=$(curl -s -o "$data/upload.json" -w '%{http_code}' -X POST \
  "http://127.0.0.1:$port/admin/api/v1/media?fileName=big.mp4" \
  -H "authorization: Bearer $token" -H 'content-type: application/octet-stream' \
  --data-binary @"$data/big.mp4")
t1=$(date +%s.%N)
[ "$code" = 201 ] || { echo "upload failed ($code): $(cat "$data/upload.json")" >&2; exit 1; }
after=$(rss)
mbps=$(python3 -c "print(round(50 / ($t1 - $t0), 1))")
echo "upload of 50 MB: $(python3 -c "print(round($t1 - $t0, 2))") s, $mbps MB/s; server RSS $before MiB before, $after MiB after"
echo

# 2. Variants of the demo pictures (both tenants' public assets).
urls=()
# The ids are fixed by the demo: tenant 0 → …0001-0004, tenant 1 → …0011-0014.
for pair in "marrakech-safi 1" "marrakech-safi 2" "marrakech-safi 3" "marrakech-safi 4" \
            "casablanca-settat 17" "casablanca-settat 18" "casablanca-settat 19" "casablanca-settat 20"; do
  set -- $pair
  id=$(printf '0160a000-0000-7000-8000-%012x' "$2")
  for w in 160 320 480; do
    urls+=("/media/$1/$id/zellige.jpg?w=$w&format=webp")
  done
done
for u in "${urls[@]}"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$u")
  [ "$code" = 200 ] || { echo "variant $u answered $code" >&2; exit 1; }
done
{
  echo "local urls = {"
  for u in "${urls[@]}"; do echo "  \"$u\","; done
  echo "}"
  cat <<'LUA'
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", urls[(i % #urls) + 1])
end
LUA
} > "$data/variants.lua"
wrk -t2 -c"$conns" -d2s -s "$data/variants.lua" "http://127.0.0.1:$port" >/dev/null
out=$(wrk -t2 -c"$conns" -d"$duration" --latency -s "$data/variants.lua" "http://127.0.0.1:$port")
rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
p50=$(echo "$out" | awk '$1=="50%" {print $2}')
p99=$(echo "$out" | awk '$1=="99%" {print $2}')
errs=$(echo "$out" | awk '/Non-2xx/ {print $5}')
echo "| variants | req/s | p50 | p99 | non-2xx |"
echo "| --- | --- | --- | --- | --- |"
echo "| ${#urls[@]} stored WebP variants, cycled | $rps | $p50 | $p99 | ${errs:-0} |"
echo
echo "server RSS after the runs: $(rss) MiB"
