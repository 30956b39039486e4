#!/bin/sh
# Builds bench/go's harness against nats-server's Go source, offline:
#   bench/go/build.sh OUT_BINARY [SOURCE_DIR]
# (SOURCE_DIR, default bench/go, holds the export.go and main.go to build:
# bench/go-diff passes its own.)
# Needs Go and Debian's nats-server source with its dependencies:
#   apt-get install -y golang-go golang-github-nats-io-nats-server-dev
# (NATS_SERVER_SRC and GOCODE override where they are looked for.)
# fileStore is unexported, so the harness's export.go must sit in the
# `server` package: a throwaway GOPATH gets symlinks to that package's files
# and its sibling packages, plus export.go, under the module path the source
# imports itself by (github.com/nats-io/nats-server/v2), and builds in GOPATH
# mode against the Debian packages. nats-server's tree is never modified.
set -eu
out=$1
here=$(cd "${2:-$(dirname "$0")}" && pwd)
gocode=${GOCODE:-/usr/share/gocode}
src=${NATS_SERVER_SRC:-$gocode/src/github.com/nats-io/nats-server}
command -v go >/dev/null || { echo "go not found" >&2; exit 3; }
[ -f "$src/server/filestore.go" ] || { echo "no nats-server source at $src" >&2; exit 3; }

gopath=$(mktemp -d "${TMPDIR:-/tmp}/jetstore-gopath-XXXXXX")
trap 'rm -rf "$gopath"' EXIT
mod=$gopath/src/github.com/nats-io/nats-server/v2
mkdir -p "$mod/server" "$gopath/src/jetstore-gobench"
for d in "$src"/*/; do
  name=$(basename "$d")
  [ "$name" = server ] || ln -s "$d" "$mod/$name"
done
for f in "$src"/server/*; do
  case $f in *_test.go) continue ;; esac
  ln -s "$f" "$mod/server/$(basename "$f")"
done
cp "$here/export.go" "$mod/server/zz_jetstore_bench_export.go"
cp "$here/main.go" "$gopath/src/jetstore-gobench/main.go"
cd "$gopath/src/jetstore-gobench"
GO111MODULE=off GOPATH="$gopath:$gocode" GOFLAGS= \
  go build -o "$out" .
