#!/usr/bin/env bash
# `proctor replay` from the outside: records a failing trace with `proctor
# sim`, replays it (identical, exit 0), replays it without its mutant (a
# difference, exit 1), and feeds it broken traces (an error naming the file
# and line, exit 2).
# usage: sim/replay/replay_cli_test.sh PROCTOR
set -uo pipefail
proctor=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# expect STATUS STDOUT-REGEX STDERR-REGEX -- ARGS...
expect() {
  local want=$1 out_re=$2 err_re=$3
  shift 4
  "$proctor" replay "$@" >"$dir/out" 2>"$dir/err"
  local status=$?
  echo "\$ proctor replay $* -> $status"
  cat "$dir/out" "$dir/err"
  [ "$status" = "$want" ] || fail "expected exit $want, got $status"
  [ -z "$out_re" ] || grep -Eq "$out_re" "$dir/out" || fail "stdout lacks /$out_re/"
  [ -z "$err_re" ] || grep -Eq "$err_re" "$dir/err" || fail "stderr lacks /$err_re/"
}

"$proctor" sim --seeds 7..7 --mutant on-died-twice --trace-dir "$dir/traces" \
  >/dev/null
trace=$dir/traces/seed-7.jsonl
[ -s "$trace" ] || fail "proctor sim wrote no trace"

expect 0 '^usage: proctor replay' '' -- --help
expect 0 '^replay: [0-9]+ events, [0-9]+ inputs, [0-9]+ actions: identical$' '' \
  -- "$trace"
expect 0 '"identical":true,"first_difference":null}$' '' -- "$trace" --json
[ "$(tail -n 1 "$dir/out" | head -c 9)" = '{"trace":' ] \
  || fail "the JSON summary is not the last line"
expect 1 '^recorded: \{"kind":"on_died"' '' -- "$trace" --mutant none
grep -q '^replayed: {' "$dir/out" || fail "no replayed: line"
expect 1 '"identical":false,"first_difference":\{"seq":[0-9]+,' '' \
  -- "$trace" --mutant none --json

head -n -1 "$trace" >"$dir/truncated.jsonl"
expect 2 '' "truncated.jsonl:[0-9]+: the trace is truncated" -- "$dir/truncated.jsonl"
sed '1s/"version":1/"version":2/' "$trace" >"$dir/v2.jsonl"
expect 2 '' 'v2.jsonl:1: trace version 2 is not supported' -- "$dir/v2.jsonl"
sed '1s/"mutant":"on-died-twice"/"mutant":"bogus"/' "$trace" >"$dir/mutant.jsonl"
expect 2 '' 'mutant.jsonl:1: unknown mutant "bogus"' -- "$dir/mutant.jsonl"
sed '1s/"sut":"reference"/"sut":"other"/' "$trace" >"$dir/sut.jsonl"
expect 2 '' 'sut.jsonl:1: expected "sut" to be "reference"' -- "$dir/sut.jsonl"
# A space added to an event line: the same JSON, another hash.
sed '0,/"dir":"out"/s/^{"seq"/{ "seq"/' "$trace" >"$dir/edited.jsonl"
cmp -s "$trace" "$dir/edited.jsonl" && fail "the edit changed nothing"
expect 2 '' 'edited.jsonl:[0-9]+: expected "hash"' -- "$dir/edited.jsonl"
expect 2 '' "cannot open $dir/missing.jsonl" -- "$dir/missing.jsonl"
expect 2 '' 'unknown mutant .nope.' -- "$trace" --mutant nope
expect 2 '' 'expected one trace file, found 0' --
expect 2 '' "unknown option or argument '--bogus'" -- "$trace" --bogus
echo "ok"
