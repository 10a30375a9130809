#!/usr/bin/env bash
# Builds dist/js-hello.wasm, a component of the world `plugin` of zellige:plugin@0.1.0, from
# src/plugin.js with jco (`jco componentize`, StarlingMonkey via componentize-js).
#
# The tools are the exact versions of package.json and package-lock.json (`npm ci`), installed
# in node_modules/ only when missing or older than the lock file. The component is rebuilt only
# when an input is newer than it; FORCE=1 rebuilds anyway. Needs node >= 18 and npm.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

id=js-hello
wit=../../wit/v0.1.0
out="dist/$id.wasm"

if [[ ! -x node_modules/.bin/jco || ! -f node_modules/.package-lock.json \
      || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "installing jco (npm ci) …"
  npm ci --no-audit --no-fund
fi

if [[ "${FORCE:-0}" != 1 && -f "$out" ]] \
   && [[ -z "$(find src "$wit" package-lock.json build.sh -newer "$out" -print -quit)" ]]; then
  echo "$out is up to date ($(wc -c < "$out") bytes); FORCE=1 to rebuild"
  exit 0
fi

mkdir -p dist
# `--disable all`: no WASI features (stdio, random, clocks, http), so the component imports
# only the zellige:plugin interfaces; console.log goes nowhere, use the `log` import.
node_modules/.bin/jco componentize src/plugin.js \
  --wit "$wit" --world-name plugin \
  --disable all \
  -o "$out"
echo "built $out ($(wc -c < "$out") bytes)"
