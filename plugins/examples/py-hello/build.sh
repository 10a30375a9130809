#!/usr/bin/env bash
# Builds dist/py-hello.wasm, a component of the world `plugin` of zellige:plugin@0.1.0, from
# src/app.py with componentize-py.
#
# componentize-py (the version pinned in requirements.txt) lives in .venv/, created and filled
# only when missing or of another version. `componentize` generates the world's bindings
# itself; bindings/ gets a copy for editors and type checkers only. The component is rebuilt
# only when an input is newer than it; FORCE=1 rebuilds anyway. Needs python3 >= 3.10 with venv.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

id=py-hello
wit=../../wit/v0.1.0
world=plugin
out="dist/$id.wasm"
version="$(sed -n 's/^componentize-py==//p' requirements.txt)"
tool=.venv/bin/componentize-py

if [[ ! -x .venv/bin/python ]]; then
  echo "creating .venv …"
  python3 -m venv .venv
fi
if [[ ! -x "$tool" || "$("$tool" --version 2>/dev/null)" != "componentize-py $version" ]]; then
  echo "installing componentize-py $version …"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
fi

if [[ ! -d bindings || -n "$(find "$wit" requirements.txt -newer bindings -print -quit)" ]]; then
  rm -rf bindings
  "$tool" -d "$wit" -w "$world" bindings bindings
  touch bindings
fi

if [[ "${FORCE:-0}" != 1 && -f "$out" ]] \
   && [[ -z "$(find src "$wit" requirements.txt build.sh -newer "$out" -print -quit)" ]]; then
  echo "$out is up to date ($(wc -c < "$out") bytes); FORCE=1 to rebuild"
  exit 0
fi

mkdir -p dist
# `-p src`: where the module `app` (the classes Widget and Hooks) is found.
"$tool" -d "$wit" -w "$world" componentize -p src app -o "$out"
echo "built $out ($(wc -c < "$out") bytes)"
