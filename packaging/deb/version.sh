#!/usr/bin/env bash
# Prints the Debian version of the dozor-edge package: $VERSION when set,
# otherwise one made from `git describe --tags --always --dirty`.
#
#   v1.4.0                  -> 1.4.0
#   v1.4.0-3-g1a2b3c4-dirty -> 1.4.0+3.g1a2b3c4.dirty
#   1a2b3c4 (no tag yet)    -> 0.0~git202611301245.1a2b3c4 (the commit's UTC time)
#
# A Debian version must start with a digit and, having no revision, may not
# contain '-'; '~' sorts before anything, so the first tag outranks every
# untagged build.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ -n "${VERSION:-}" ]; then
  v=$VERSION
else
  d=$(git describe --tags --always --dirty)
  case $d in
  v[0-9]* | [0-9]*.*)
    d=${d#v}
    v=${d/-/+}
    v=${v//-/.}
    ;;
  *)
    when=$(TZ=UTC0 git log -1 --format=%cd --date=format-local:%Y%m%d%H%M)
    v=0.0~git$when.${d//-/.}
    ;;
  esac
fi
if ! [[ $v =~ ^[0-9][A-Za-z0-9.+~]*$ ]]; then
  echo "version.sh: '$v' is no Debian version without revision (a digit first, then letters, digits, . + ~)" >&2
  exit 1
fi
echo "$v"
