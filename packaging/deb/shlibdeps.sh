#!/usr/bin/env bash
# Prints the Depends that the shared objects of the given binaries call for,
# as dpkg-shlibdeps derives them from the libraries' symbols and shlibs files
# ("libc6 (>= 2.34), libopencv-core406 (>= 4.6.0), ...").
#
#   packaging/deb/shlibdeps.sh amd64|arm64 BINARY...
#
# amd64: the libraries installed on this machine, known to its dpkg database.
# arm64: the libraries of the arm64 sysroot (scripts/arm64/sysroot.sh). They
# were unpacked, never installed, so no dpkg database knows them; one is
# made from the same .deb files (status, file lists, symbols and shlibs
# files) in ARM64_DIR/dpkg, and dpkg-shlibdeps reads it with --admindir and
# the arm64 objdump.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
arch=${1:?usage: shlibdeps.sh amd64|arm64 BINARY...}
shift
bins=()
for b in "$@"; do bins+=("-e$(realpath "$b")"); done

opts=()
case $arch in
amd64) ;;
arm64)
  ARM64_DIR=${ARM64_DIR:-$repo/var/arm64}
  sysroot=$ARM64_DIR/sysroot
  pkgs_tsv=$ARM64_DIR/packages.tsv
  admin=$ARM64_DIR/dpkg
  [ -f "$pkgs_tsv" ] || { echo "shlibdeps.sh: no arm64 sysroot in $ARM64_DIR (make arm64-sysroot)" >&2; exit 1; }
  layout=1 # bump when what is made of the .debs changes
  stamp=$( (cat "$pkgs_tsv"; echo "layout $layout") | sha256sum | cut -c1-16)
  if [ "$(cat "$admin/stamp" 2>/dev/null)" != "$stamp" ]; then
    echo "shlibdeps.sh: making a dpkg database of the $(wc -l <"$pkgs_tsv") arm64 sysroot packages" >&2
    rm -rf "$admin"
    mkdir -p "$admin/info" "$admin/updates"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    while IFS=$'\t' read -r name _ _ deb; do
      # Without Multi-Arch the info files are named after the bare package.
      { dpkg-deb -f "$deb" | grep -v '^Multi-Arch:'; echo "Status: install ok installed"; echo; } >>"$admin/status"
      # File lists as seen from here: under the sysroot, merged /usr.
      dpkg-deb -c "$deb" | awk -v r="$sysroot" '{
          p = $6; sub(/^\./, "", p); sub(/^\/(lib|bin|sbin)\//, "/usr/&", p); sub(/^\/usr\/\//, "/usr/", p)
          sub(/\/$/, "", p); if (p != "") print r p }' >"$admin/info/$name.list"
      rm -rf "$tmp/c"
      dpkg-deb -e "$deb" "$tmp/c"
      for f in symbols shlibs; do
        [ -f "$tmp/c/$f" ] && cp "$tmp/c/$f" "$admin/info/$name.$f"
      done
    done <"$pkgs_tsv"
    : >"$admin/available"
    echo "$stamp" >"$admin/stamp"
  fi
  export DEB_HOST_ARCH=arm64
  opts=(--admindir="$admin" "-l$sysroot/usr/lib/aarch64-linux-gnu" "-l$sysroot/usr/lib")
  ;;
*) echo "shlibdeps.sh: unknown architecture $arch" >&2; exit 2 ;;
esac

# dpkg-shlibdeps reads debian/control of a source tree: a minimal one.
work=$(mktemp -d)
trap 'rm -rf "$work" "${tmp:-}"' EXIT
mkdir "$work/debian"
printf 'Source: dozor-edge\n\nPackage: dozor-edge\nArchitecture: any\n' >"$work/debian/control"
out=$(cd "$work" && dpkg-shlibdeps "${opts[@]}" -O "${bins[@]}" 2>"$work/log") || {
  cat "$work/log" >&2
  exit 1
}
# "Useless dependency" warnings name libraries the binaries link but do not
# call (pkg-config's opencv4 links every module): still needed to load.
grep -v 'could avoid a useless dependency\|were not linked against' "$work/log" >&2 || true
unused=$(grep -c 'could avoid a useless dependency' "$work/log" || true)
[ "$unused" = 0 ] || echo "shlibdeps.sh: $arch: $unused linked libraries are loaded but not called (dpkg-shlibdeps' 'useless dependency' notes)" >&2
deps=$(sed -n 's/^shlibs:Depends=//p' <<<"$out")
[ -n "$deps" ] || { echo "shlibdeps.sh: dpkg-shlibdeps printed no Depends: $out" >&2; exit 1; }
echo "$deps"
