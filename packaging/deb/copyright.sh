#!/usr/bin/env bash
# Prints /usr/share/doc/dozor-edge/copyright. The Go programs are linked
# statically, so the package ships the notices of the Go standard library
# and of every module compiled into edged and edgectl, read from the module
# cache. Apache-2.0 texts are referred to /usr/share/common-licenses, as
# Debian does; their NOTICE files are reproduced.
#
#   packaging/deb/copyright.sh GO_LIST_COMMAND...   (e.g. env GOARCH=arm64 go list)
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -gt 0 ] || { echo "usage: copyright.sh GO_LIST_COMMAND..." >&2; exit 2; }

licence_files() { # module dir -> its licence and notice files
  find "$1" -maxdepth 1 -type f \( -iname 'licen[cs]e*' -o -iname 'copying*' -o -iname 'notice*' -o -iname 'unlicense*' \) | LC_ALL=C sort
}
print_text() { # file
  if grep -q 'Apache License' "$1" && grep -q 'Version 2.0, January 2004' "$1"; then
    echo " Apache License 2.0: /usr/share/common-licenses/Apache-2.0"
  else
    sed -e 's/^[[:space:]]*$/./' -e 's/^/ /' "$1"
  fi
}

cat <<'EOF'
dozor-edge: the dozor facility daemon (edged) and installer tool (edgectl).

dozor's own code is copyright the dozor authors; its terms are those under
which this package was supplied.

edged and edgectl are Go programs linked statically: they contain the Go
standard library and the Go modules below, each under the notice that
follows its name. The C and C++ libraries they load (OpenCV, dlib, FFmpeg,
BLAS/LAPACK, libjpeg) are Debian's packages, each with its own copyright
file in /usr/share/doc. No model file is part of this package.
EOF

goroot=$("$@" -f '{{context.GOROOT}}' runtime)
echo
echo "Go standard library and runtime ($(go version | cut -d' ' -f3)):"
print_text "$goroot/LICENSE"

missing=0
while read -r path version dir; do
  echo
  echo "$path $version:"
  files=$(licence_files "$dir")
  if [ -z "$files" ]; then
    echo "copyright.sh: $path $version: no licence file in $dir" >&2
    missing=1
    continue
  fi
  while read -r f; do
    [ "$(wc -l <<<"$files")" -gt 1 ] && echo " ($(basename "$f"))"
    print_text "$f"
  done <<<"$files"
done < <("$@" -deps -f '{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}} {{.Dir}}{{end}}{{end}}' ./cmd/edged ./cmd/edgectl | LC_ALL=C sort -u)
exit $missing
