#!/usr/bin/env bash
# Cross-compiles edged and edgectl for linux/arm64 (cgo: OpenCV, dlib,
# FFmpeg, SQLite) against the arm64 sysroot, into bin/linux-arm64/ (or $1),
# and checks that what came out is an aarch64 executable.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-bin/linux-arm64}

./scripts/arm64/sysroot.sh >/dev/null
# shellcheck source=env.sh
. scripts/arm64/env.sh

start=$(date +%s.%N)
mkdir -p "$out"
go build -o "$out/" ./cmd/edged ./cmd/edgectl
end=$(date +%s.%N)
for b in edged edgectl; do
  desc=$(file -b "$out/$b")
  case $desc in
  *"ARM aarch64"*) ;;
  *) echo "arm64 build: $out/$b is not an aarch64 executable: $desc" >&2; exit 1 ;;
  esac
done
file "$out/edged" "$out/edgectl"
awk -v s="$start" -v e="$end" -v o="$out" 'BEGIN { printf "arm64 build: %s/edged, %s/edgectl in %.1f s\n", o, o, e - s }'
