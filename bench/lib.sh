# Shared by the load scripts (sourced): the release build, a scratch data directory removed on
# exit, a loopback port, the demo server, and a Markdown row from a wrk run.

# Checks wrk, builds the release binary (extra `cargo build` arguments in "$@"), and sets `bin`,
# `data` and `port`; the server started later (`server`) is stopped on exit.
bench_setup() {
  command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
  cargo build --release -p zellige --bin zellige "$@" >&2
  bin=${CARGO_TARGET_DIR:-target}/release
  data=$(mktemp -d)
  server=""
  trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$data"' EXIT
  export ZELLIGE_DATA_DIR=$data RUST_LOG=warn
  port=$((20000 + RANDOM % 20000))
}

# Waits until the server on `port` is ready.
wait_ready() {
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return 0; sleep 0.2; done
  echo "the server did not become ready" >&2
  exit 1
}

# Starts `zellige serve --demo` on `port` and sets `server` and `token` (the demo's public token).
serve_demo() {
  "$bin/zellige" serve --demo --bind 127.0.0.1:$port > "$data/serve.log" &
  server=$!
  wait_ready
  token=$(grep -m1 'public token' "$data/serve.log" | awk '{print $3}')
}

# A Markdown table row from wrk's output (run with --latency for percentiles): name, req/s,
# p50, p99, non-2xx answers.
wrk_row() {
  local name=$1 out=$2 rps p50 p99 errs
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  errs=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  echo "| $name | $rps | ${p50:--} | ${p99:--} | ${errs:-0} |"
}

# Waits until the search indexer has caught up (every backlog in /readyz is 0): the demo's
# first indexing takes memory and CPU that would otherwise be counted against the load run.
wait_indexed() {
  for _ in $(seq 1 300); do
    curl -s "http://127.0.0.1:$port/readyz" | grep -Eq '"backlog":\{("[^"]+":0,?)*\}' && return 0
    sleep 0.2
  done
  echo "the search backlog did not drain" >&2
  exit 1
}

# Writes a wrk script to FILE that POSTs one GraphQL request BODY (JSON) with TOKEN:
#   post_lua FILE TOKEN BODY
post_lua() {
  cat > "$1" <<LUA
wrk.method = "POST"
wrk.body = [==[$3]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $2"
LUA
}

# Waits until the server is idle: under 5% of a core over a second, at most SECONDS (default
# 60). The search index merges its segments in the background after indexing; a load run
# measured against those merges measures them.
wait_idle() {
  local a b
  for _ in $(seq 1 "${1:-60}"); do
    a=$(awk '{print $14 + $15}' "/proc/$server/stat"); sleep 1
    b=$(awk '{print $14 + $15}' "/proc/$server/stat")
    [ $((b - a)) -lt 5 ] && return 0
  done
}
