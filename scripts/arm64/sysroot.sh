#!/usr/bin/env bash
# Builds the Debian 12 arm64 sysroot the cross build links against and qemu
# runs the tests in: the arm64 builds of the libraries scripts/deps.sh
# installs on the host (OpenCV, dlib, BLAS/LAPACK, libjpeg, FFmpeg) with
# their whole dependency closure, unpacked with dpkg-deb -x.
#
# Debian's amd64 and arm64 OpenCV -dev packages cannot be installed side by
# side, so nothing is installed on the host: a private apt state under
# var/arm64/apt (architecture arm64, empty dpkg status) resolves the closure
# and downloads the .debs, then every one of them is unpacked into
# var/arm64/sysroot. Maintainer scripts do not run, so the few things they
# would have done are redone here: merged /usr, the BLAS/LAPACK alternatives
# links, and absolute symlinks made relative so that they stay inside the
# sysroot.
#
# Idempotent: with the sysroot present and built from the same package list
# and script, a run costs a hash and exits. The downloaded .debs stay in
# var/arm64/apt/cache, so a rebuild (after the list changes) fetches only
# what is new. var/arm64/packages.tsv lists what went in (package, version,
# architecture, .deb file); scripts/arm64/check-runtime.sh reads it.
#
#   scripts/arm64/sysroot.sh            build if missing or out of date
#   scripts/arm64/sysroot.sh --force    rebuild from the cached .debs
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

ARM64_DIR=${ARM64_DIR:-$repo/var/arm64}
SYSROOT=$ARM64_DIR/sysroot
APTDIR=$ARM64_DIR/apt
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
KEYRING=${DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}

# The libraries of scripts/deps.sh, one list for host and target: its lib*
# entries (-dev packages and libdlib-data). Its other entries are host tools
# (compiler, pkg-config, the MQTT broker and browser some tests start) that
# have no place in the target's sysroot. Plus the C and C++ runtime
# development files the cross compiler links against.
mapfile -t from_deps < <(sed -n '/^packages=(/,/^)/p' scripts/deps.sh |
  sed -e 's/#.*//' -e 's/^packages=(//' -e 's/^)//' | tr -s ' \t' '\n' | grep '^lib')
packages=("${from_deps[@]}" libc6-dev libstdc++-12-dev libgcc-12-dev)

# Bump when what this script makes of the .debs changes, to rebuild.
layout=1
stamp_want=$(printf '%s\n' "${packages[@]}" "$MIRROR" "$SECURITY_MIRROR" "layout $layout" | sha256sum | cut -c1-16)
if [ "${1:-}" != --force ] && [ -f "$SYSROOT/.dozor-sysroot" ] &&
  [ "$(cat "$SYSROOT/.dozor-sysroot")" = "$stamp_want" ] && [ -f "$ARM64_DIR/packages.tsv" ]; then
  echo "arm64 sysroot: up to date ($SYSROOT, $(wc -l <"$ARM64_DIR/packages.tsv") packages)"
  exit 0
fi

for tool in apt-get dpkg-deb sha256sum; do
  command -v "$tool" >/dev/null || { echo "arm64 sysroot: $tool missing (run scripts/arm64/deps.sh)" >&2; exit 1; }
done
[ -r "$KEYRING" ] || { echo "arm64 sysroot: $KEYRING missing (apt-get install debian-archive-keyring)" >&2; exit 1; }

t0=$(date +%s)
mkdir -p "$APTDIR"/etc/sources.list.d "$APTDIR"/etc/preferences.d "$APTDIR"/state/lists/partial \
  "$APTDIR"/cache/archives/partial
: >"$APTDIR/state/status" # nothing installed: apt resolves the whole closure
cat >"$APTDIR/etc/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Architectures: arm64
Signed-By: $KEYRING

Types: deb
URIs: $SECURITY_MIRROR
Suites: bookworm-security
Components: main
Architectures: arm64
Signed-By: $KEYRING
EOF
# The private apt state: arm64 only, nothing installed. The host's apt.conf.d
# still applies (proxies). scripts/arm64/check-runtime.sh asks the same
# indexes (apt-cache -c var/arm64/apt/apt.conf show ...). Read after the
# host's configuration, these settings win over it.
cat >"$APTDIR/apt.conf" <<EOF
Dir::State "$APTDIR/state";
Dir::State::status "$APTDIR/state/status";
Dir::Cache "$APTDIR/cache";
Dir::Etc::SourceList "$APTDIR/etc/debian.sources";
Dir::Etc::SourceParts "$APTDIR/etc/sources.list.d";
Dir::Etc::Preferences "$APTDIR/etc/preferences";
Dir::Etc::PreferencesParts "$APTDIR/etc/preferences.d";
APT::Architecture "arm64";
#clear APT::Architectures;
APT::Architectures { "arm64"; };
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Debug::NoLocking "true";
APT::Sandbox::User "$(id -un)";
EOF
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -q -c "$APTDIR/apt.conf" "$@"; }

# The indexes are refreshed when older than a day, so repeated rebuilds
# after a list change do not pay for it, and a stale index cannot point at
# .debs the mirror no longer has for long.
if [ -z "$(find "$APTDIR/state/updated" -mmin -1440 2>/dev/null)" ]; then
  echo "arm64 sysroot: apt-get update (arm64 indexes)"
  apt_get update -qq
  touch "$APTDIR/state/updated"
fi

echo "arm64 sysroot: resolving ${packages[*]}"
# Simulated install on an empty system: "Inst NAME (VERSION SUITE [ARCH])".
apt_get -s install "${packages[@]}" |
  sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) [^[]*\[\([a-z0-9]*\)\]).*/\1\t\2\t\3/p' | sort >"$ARM64_DIR/packages.tsv.new"
n=$(wc -l <"$ARM64_DIR/packages.tsv.new")
[ "$n" -gt 0 ] || { echo "arm64 sysroot: apt resolved nothing" >&2; exit 1; }
echo "arm64 sysroot: downloading $n packages (cached ones are reused)"
apt_get install -d -y "${packages[@]}" >/dev/null
t1=$(date +%s)

# The .deb file of each resolved package (apt writes an epoch's ':' as %3a).
awk -F'\t' -v dir="$APTDIR/cache/archives" '{ v = $2; sub(/:/, "%3a", v); printf "%s\t%s\t%s\t%s/%s_%s_%s.deb\n", $1, $2, $3, dir, $1, v, $3 }' \
  "$ARM64_DIR/packages.tsv.new" >"$ARM64_DIR/packages.tsv.tmp"
while IFS=$'\t' read -r name _ _ deb; do
  [ -f "$deb" ] || { echo "arm64 sysroot: $name: $deb was not downloaded" >&2; exit 1; }
done <"$ARM64_DIR/packages.tsv.tmp"

echo "arm64 sysroot: unpacking $n packages"
new=$SYSROOT.new
rm -rf "$new"
mkdir -p "$new"
while IFS=$'\t' read -r _ _ _ deb; do
  dpkg-deb -x "$deb" "$new"
done <"$ARM64_DIR/packages.tsv.tmp"

# Merged /usr, as on an installed Debian 12: /lib, /bin, /sbin are links
# into /usr (the packages still ship some files under /lib).
for d in lib bin sbin; do
  if [ -d "$new/$d" ] && [ ! -L "$new/$d" ]; then
    mkdir -p "$new/usr/$d"
    cp -a "$new/$d/." "$new/usr/$d/"
    rm -rf "${new:?}/$d"
  fi
  ln -sfn "usr/$d" "$new/$d"
done

# update-alternatives links the maintainer scripts would have made (BLAS
# and LAPACK: libblas.so.3, liblapack.so.3, ...): for each alternative the
# highest-priority master among the unpacked packages, with its slaves, as
# on the host.
for deb in $(cut -f4 "$ARM64_DIR/packages.tsv.tmp"); do
  dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./postinst 2>/dev/null || true
done | tr -d '\\' | tr '\n' ' ' | sed 's/update-alternatives/\nupdate-alternatives/g' |
  awk '/^update-alternatives .*--install/ {
      prio = 0; master = ""
      for (i = 1; i <= NF; i++) {
        if ($i == "--install") { master = $(i + 2); link[master] = $(i + 1); path = $(i + 3); prio = $(i + 4) + 0 }
      }
      if (master == "" || (master in best && best[master] >= prio)) next
      best[master] = prio; target[master] = path; slaves[master] = ""
      for (i = 1; i <= NF; i++) if ($i == "--slave") slaves[master] = slaves[master] " " $(i + 1) "=" $(i + 3)
    }
    END { for (m in best) { print link[m] "=" target[m]; n = split(slaves[m], s, " "); for (j = 1; j <= n; j++) print s[j] } }' |
  while IFS== read -r link path; do
    case "$link$path" in *'$'* | *'`'*) continue ;; esac # not a literal path
    [ -e "$new$path" ] || continue
    mkdir -p "$(dirname "$new$link")"
    ln -sfn "$path" "$new$link" # absolute: made relative below
  done

# Absolute symlinks point into the host; make each one relative, so that it
# resolves inside the sysroot for the linker and for qemu.
find "$new" -type l -lname '/*' -print0 | while IFS= read -r -d '' l; do
  target=$(readlink "$l")
  ln -sfn "$(realpath -m -s --relative-to="$(dirname "$l")" "$new$target")" "$l"
done

echo "$stamp_want" >"$new/.dozor-sysroot"
rm -rf "$SYSROOT"
mv "$new" "$SYSROOT"
mv "$ARM64_DIR/packages.tsv.tmp" "$ARM64_DIR/packages.tsv"
rm -f "$ARM64_DIR/packages.tsv.new"
t2=$(date +%s)
echo "arm64 sysroot: $SYSROOT ready: $n packages, $(du -sh "$SYSROOT" | cut -f1); download $((t1 - t0)) s, unpack $((t2 - t1)) s"
