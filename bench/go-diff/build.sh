#!/bin/sh
# Builds the differential runner (bench/go-diff.ts's Go half) the way
# bench/go/build.sh builds the benchmark harness, from this directory's
# export.go and main.go:  bench/go-diff/build.sh OUT_BINARY
here=$(cd "$(dirname "$0")" && pwd)
exec sh "$here/../go/build.sh" "$1" "$here"
