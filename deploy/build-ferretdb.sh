#!/usr/bin/env bash
# Builds FerretDB from source into .tools/bin/ferretdb (or the path given as first argument).
#
# Why not simply `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2`?
#   1. The module proxy reachable from our machines refuses the version list of the module:
#        reading https://proxy.golang.org/github.com/%21ferret%21d%21b/%21ferret%21d%21b/@v/list: 403 Forbidden
#      so `go install ...@version` fails, while downloading one exact version works.
#   2. Even a binary built straight from the published module zip panics at start with
#        Invalid build/version/version.txt file content. Please run `bin/task gen-version`.
#      because FerretDB embeds build/version/version.txt (normally generated from `git describe`)
#      and the module zip does not contain it.
# So we download the exact module version with `go mod download`, copy its (read-only) source to a
# temporary folder, write the version file and build the binary there. A cold build takes about
# 1.5 minutes.
#
# One line is changed before the build (PATCH below, the only difference to an upstream build of
# the tag). The SQLite backend creates the `_id` index on the expression `_ferretdb_sjson->"_id"`
# but looks documents up with `_ferretdb_sjson->'$._id' = ?`. SQLite uses an expression index only
# for the same expression, so every lookup, update and delete by `_id` scanned the whole table and
# parsed every document's JSON (11 ms per lookup in a collection of 5,000 documents instead of
# 1 ms; `EXPLAIN QUERY PLAN` says `SCAN` instead of `SEARCH ... USING INDEX`). `->'_id'` selects the
# same member and matches the index. See docs/performance.md (change #16).
#
# A second change (PATCH 2) makes the writers of one SQLite database wait their turn in FerretDB
# instead of in SQLite. FerretDB opens up to 100 connections per database; SQLite lets one of them
# write at a time and answers the others SQLITE_BUSY, and its busy handler then sleeps 1, 2, 5,
# 10, 15, 20, 25, 25, 25, 50, 50, 100 ms between attempts. With 64 writers at once an unlucky one
# slept through the whole series (328 ms) while the lock sat free between the sleeps: the p99 of
# a FerretDB insert at c=64 was 220-420 ms against a median of 9 ms. A mutex per database around
# FerretDB's write transactions and statements hands the lock from one writer to the next at once
# (`internal/util/fsql/db.go`; readers are not held, WAL lets them read while one writes). See
# docs/performance.md (change #40).
#
# A third change (PATCH 3) lets a lookup of several documents by `_id` use the same index. FerretDB
# hands SQLite a lone `_id` equality only; for `{_id: {$in: [...]}}` it read and parsed every
# document of the collection and filtered them in Go. Now a `$in` of up to 500 strings or ObjectIDs
# becomes `WHERE _ferretdb_sjson->'_id' IN (...)` (`internal/backends/sqlite/collection.go`); the
# handler still applies the whole filter to what comes back, as it does after the equality. The
# services look documents up in groups that way (docs/performance.md, change #43).
#
# A fourth change (PATCH 4) lets a range of `_id` strings use the index too: for a filter with
# `_id: {$gte|$gt: a, $lt|$lte: b}` of strings sharing a prefix p of letters, digits and `_.:-`,
# SQLite reads only the ids whose JSON text starts with `"p` (every string between a and b starts
# with p, and p needs no escaping in JSON, so no such id is left out); the handler applies the
# whole filter to what comes back. The needs service reads a need's supports (`_id`
# "<need>:<Kommune>") that way instead of converting every support of every need
# (docs/performance.md, change #52).
#
# A fifth change (PATCH 5) keeps FerretDB's leak tracking to its debug builds. Every document and
# array iterator, every query result and transaction is "tracked": an entry with a stack trace in a
# pprof profile behind one global lock, and a finalizer that panics if the object is collected
# unclosed. A release build records all of it too, it only leaves the stack out of the panic
# message. Under a survey submission's update that was 12 % of FerretDB's CPU (`runtime.Callers`
# under `resource.Track` in `go tool pprof`), besides the finalizers' extra
# garbage collection work. `Track` and `Untrack` now return at once unless `debugbuild.Enabled`
# (`internal/util/resource/resource.go`); nothing else reads that profile. See
# docs/performance.md (change #71).
# The script does nothing when the target already reports the wanted version and carries the patch.
set -euo pipefail

VERSION="${FERRETDB_VERSION:-v1.24.2}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/.tools/bin/ferretdb}"
# absolute, because the build runs in a temporary folder
mkdir -p "$(dirname "$OUT")"
OUT="$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"

GO="${GO:-}"
if [[ -z "$GO" ]]; then
  if command -v go >/dev/null 2>&1; then
    GO="$(command -v go)"
  elif [[ -x /usr/local/go/bin/go ]]; then
    GO=/usr/local/go/bin/go
  else
    echo "build-ferretdb: Go not found (looked for 'go' on PATH and /usr/local/go/bin/go)" >&2
    exit 1
  fi
fi

# capture the output first: piping into `grep -q`/`head` can kill the writer with SIGPIPE (exit 141),
# which `set -o pipefail` turns into a failure
installed_version() { "$OUT" --version 2>/dev/null || true; }
PATCH="sqlite-id-index-1+sqlite-write-queue-1+sqlite-id-in-1+sqlite-id-range-1+resource-track-debug-1"
MARK="$OUT.patch"
if [[ -x "$OUT" ]] && grep -qx "version: $VERSION" <<<"$(installed_version)" \
  && [[ "$(cat "$MARK" 2>/dev/null || true)" == "$PATCH" ]]; then
  echo "build-ferretdb: $OUT is already FerretDB $VERSION ($PATCH)"
  exit 0
fi

# never let the build fetch a different Go toolchain; FerretDB v1.24 needs Go >= 1.24
export GOTOOLCHAIN=local
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"

echo "build-ferretdb: downloading github.com/FerretDB/FerretDB@$VERSION"
# run outside any Go module so the download does not touch a go.mod
if ! info="$(cd / && "$GO" mod download -json "github.com/FerretDB/FerretDB@$VERSION")"; then
  echo "build-ferretdb: 'go mod download' failed:" >&2
  printf '%s\n' "$info" >&2
  exit 1
fi
src="$(printf '%s\n' "$info" | python3 -c 'import json, sys; print(json.load(sys.stdin).get("Dir", ""))')"
if [[ -z "$src" || ! -d "$src" ]]; then
  echo "build-ferretdb: 'go mod download' gave no source folder:" >&2
  printf '%s\n' "$info" >&2
  exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/ferretdb-build.XXXXXX")"
trap 'chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
cp -R "$src/." "$work/"
chmod -R u+w "$work"
printf '%s\n' "$VERSION" >"$work/build/version/version.txt"

# PATCH: look `_id` up with the expression the `_id` index is built on (see the top)
meta="$work/internal/backends/sqlite/metadata/metadata.go"
sed -i "s|IDColumn = DefaultColumn + \"->'\\\$._id'\"|IDColumn = DefaultColumn + \"->'_id'\"|" "$meta"
if ! grep -q "IDColumn = DefaultColumn + \"->'_id'\"" "$meta"; then
  echo "build-ferretdb: the $PATCH patch no longer applies to $meta" >&2
  exit 1
fi

# Each patch below that only replaces text gives `edit_once` its (old, new) pairs as a Python
# list on stdin: every `old` must occur exactly once in the file, or the build stops naming the
# patch (the code it changes is no longer there).
edit_once() {
  python3 -c '
import ast, sys

path, name = sys.argv[1], sys.argv[2]
src = open(path, encoding="utf-8").read()
for old, new in ast.literal_eval(sys.stdin.read()):
    if src.count(old) != 1:
        sys.exit(f"build-ferretdb: the {name} patch no longer applies to {path}")
    src = src.replace(old, new)
open(path, "w", encoding="utf-8").write(src)
' "$1" "$2"
}

# PATCH 2: one writer at a time per database, queued in FerretDB (see the top)
edit_once "$work/internal/util/fsql/db.go" sqlite-write-queue-1 <<'PY'
[
    ('\t"log/slog"\n', '\t"log/slog"\n\t"sync"\n'),
    ("\tBatchSize int\n}", "\tBatchSize int\n\n\t// writers wait here, not in SQLite's sleeping busy handler\n\twriteMu sync.Mutex\n}"),
    (
        "func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {\n",
        "func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {\n"
        "\tdb.writeMu.Lock()\n\tdefer db.writeMu.Unlock()\n\n",
    ),
    (
        "func (db *DB) InTransaction(ctx context.Context, f func(*Tx) error) (err error) {\n",
        "func (db *DB) InTransaction(ctx context.Context, f func(*Tx) error) (err error) {\n"
        "\tdb.writeMu.Lock()\n\tdefer db.writeMu.Unlock()\n\n",
    ),
]
PY

# PATCH 3: `_id: {$in: [...]}` through the `_id` index (see the top)
python3 - "$work/internal/backends/sqlite/collection.go" <<'PY'
import sys

path = sys.argv[1]
src = open(path, encoding="utf-8").read()
lookup = "\t\t\targs = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}\n\t\t}\n\t}\n"
explain = "\n\torderByClause := prepareOrderByClause(params.Sort)\n"
# the lookup is in Query and in Explain (whose answer then says the filter was pushed down)
if src.count(lookup) != 2 or src.count(explain) != 1:
    sys.exit(f"build-ferretdb: the sqlite-id-in-1 patch no longer applies to {path}")
src = src.replace(
    lookup,
    lookup + '\n\tif whereClause == "" && params.Filter.Len() == 1 {\n'
    "\t\twhereClause, args = idInClause(params.Filter)\n\t}\n",
)
src = src.replace(explain, '\n\tfilterPushdown = whereClause != ""\n' + explain)
src += """
// idInClause narrows `{_id: {$in: [...]}}` of strings and ObjectIDs to the `_id` index.
// The handler applies the whole filter to the documents returned, as after an equality.
func idInClause(filter *types.Document) (string, []any) {
	v, _ := filter.Get("_id")
	cond, ok := v.(*types.Document)
	if !ok || cond.Len() != 1 {
		return "", nil
	}
	list, _ := cond.Get("$in")
	arr, ok := list.(*types.Array)
	if !ok || arr.Len() == 0 || arr.Len() > 500 {
		return "", nil
	}
	args := make([]any, 0, arr.Len())
	for i := 0; i < arr.Len(); i++ {
		e := must.NotFail(arr.Get(i))
		switch e.(type) {
		case string, types.ObjectID:
			args = append(args, string(must.NotFail(sjson.MarshalSingleValue(e))))
		default:
			return "", nil
		}
	}
	return fmt.Sprintf(` WHERE %s IN (?%s)`, metadata.IDColumn, strings.Repeat(", ?", len(args)-1)), args
}
"""
open(path, "w", encoding="utf-8").write(src)
PY

# PATCH 4: a prefix range of `_id` strings through the `_id` index (see the top)
python3 - "$work/internal/backends/sqlite/collection.go" <<'PY'
import sys

path = sys.argv[1]
src = open(path, encoding="utf-8").read()
hook = '\n\tif whereClause == "" && params.Filter.Len() == 1 {\n\t\twhereClause, args = idInClause(params.Filter)\n\t}\n'
if src.count(hook) != 2:
    sys.exit(f"build-ferretdb: the sqlite-id-range-1 patch no longer applies to {path}")
src = src.replace(hook, hook + '\n\tif whereClause == "" {\n\t\twhereClause, args = idRangeClause(params.Filter)\n\t}\n')
src += """
// idRangeClause narrows `{_id: {$gte|$gt: a, $lt|$lte: b}, ...}` of strings to the ids whose JSON
// text starts with `"p`, p being the common prefix of a and b: every string between a and b
// starts with p, and a p of letters, digits and `_.:-` is written in JSON as it is, so no id in
// the range is left out. The handler applies the whole filter to the documents returned.
func idRangeClause(filter *types.Document) (string, []any) {
	v, _ := filter.Get("_id")
	cond, ok := v.(*types.Document)
	if !ok || cond.Len() != 2 {
		return "", nil
	}
	var lo, hi string
	var haveLo, haveHi bool
	for _, k := range cond.Keys() {
		s, ok := must.NotFail(cond.Get(k)).(string)
		if !ok {
			return "", nil
		}
		switch k {
		case "$gte", "$gt":
			lo, haveLo = s, true
		case "$lt", "$lte":
			hi, haveHi = s, true
		default:
			return "", nil
		}
	}
	if !haveLo || !haveHi {
		return "", nil
	}
	n := 0
	for n < len(lo) && n < len(hi) && lo[n] == hi[n] {
		n++
	}
	prefix := lo[:n]
	if prefix == "" {
		return "", nil
	}
	for i := 0; i < len(prefix); i++ {
		c := prefix[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':' || c == '-') {
			return "", nil
		}
	}
	// the first text after all those starting with `"p`: p with its last character raised
	above := prefix[:len(prefix)-1] + string(prefix[len(prefix)-1]+1)
	return fmt.Sprintf(` WHERE %s >= ? AND %s < ?`, metadata.IDColumn, metadata.IDColumn), []any{`"` + prefix, `"` + above}
}
"""
open(path, "w", encoding="utf-8").write(src)
PY

# PATCH 5: leak tracking only in debug builds (see the top)
edit_once "$work/internal/util/resource/resource.go" resource-track-debug-1 <<'PY'
[
    (
        "func Track(obj any, token *Token) {\n",
        "func Track(obj any, token *Token) {\n\tif !debugbuild.Enabled {\n\t\treturn\n\t}\n\n",
    ),
    (
        "func Untrack(obj any, token *Token) {\n",
        "func Untrack(obj any, token *Token) {\n\tif !debugbuild.Enabled {\n\t\treturn\n\t}\n\n",
    ),
]
PY

echo "build-ferretdb: building $OUT (this takes a while on a cold Go cache)"
(cd "$work" && "$GO" build -trimpath -o "$OUT.tmp" ./cmd/ferretdb)
mv -f "$OUT.tmp" "$OUT"
printf '%s\n' "$PATCH" >"$MARK"
built="$(installed_version)"
printf '%s\n' "${built%%$'\n'*}"
