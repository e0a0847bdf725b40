#!/usr/bin/env bash
# Builds bin/dozor-edge_<version>_<arch>.deb with dpkg-deb, for amd64 (a
# native build) or arm64 (the cross build of scripts/arm64: its toolchain,
# sysroot and build cache), from this working tree.
#
#   packaging/deb/build.sh amd64|arm64 [OUT_DIR]     (OUT_DIR: bin)
#
# Environment: VERSION (default: packaging/deb/version.sh), DEB_MAINTAINER,
# ARM64_DIR (the arm64 sysroot's folder, as for make arm64).
#
# What goes where, and why:
#   /usr/bin/edged, /usr/bin/edgectl   both are run by people (edgectl by the
#       installer, edged -print-example-config / -healthcheck) and neither
#       has private files beside it, so /usr/lib/dozor plus links would only
#       add an indirection.
#   /lib/systemd/system/dozor-edged.service   Debian 12 keeps packaged units
#       in /lib (the /usr-merge moratorium).
#   /etc/dozor/edged.yaml   the commented example configuration
#       (edge/config/example.yaml) with the paths moved under /var/lib/dozor;
#       a conffile, so dpkg keeps the administrator's edits on upgrade.
#   /usr/share/doc/dozor-edge/   copyright (the licences of the Go modules
#       compiled into the binaries), changelog.gz, README.Debian.
# Depends: what dpkg-shlibdeps derives from the libraries the binaries load
# (shlibdeps.sh), plus adduser (the postinst), libdlib-data (the dlib
# landmark model, never bundled) and libopenblas0-pthread: BLAS and LAPACK
# as on the development machine and in Dockerfile.arm64; without it apt
# satisfies libblas.so.3 with the much slower reference libblas3.
# No model file is packaged: edged verifies the files an administrator
# installs into /var/lib/dozor/models. The dlib landmark model comes from
# Debian's libdlib-data, a dependency.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
here=packaging/deb

arch=${1:?usage: build.sh amd64|arm64 [OUT_DIR]}
out=${2:-bin}
case $arch in amd64 | arm64) ;; *) echo "build.sh: unknown architecture $arch (amd64 or arm64)" >&2; exit 2 ;; esac
version=$("$here/version.sh")
maintainer=${DEB_MAINTAINER:-dozor maintainers <maintainers@dozor-edge.example>}
pkg=dozor-edge
work=$repo/bin/deb/$arch
root=$work/root
deb=$out/${pkg}_${version}_${arch}.deb

for tool in dpkg-deb dpkg-shlibdeps readelf; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool missing (apt-get install dpkg-dev binutils)" >&2; exit 1; }
done
# Reproducible: every date and file time is the commit's.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
export SOURCE_DATE_EPOCH

t0=$(date +%s)
rm -rf "$work"
mkdir -p "$work/bin" "$root/DEBIAN" "$out"

# --- the binaries, stamped with the package version and stripped, with the
# hardening Debian builds its programs with: PIE (the daemon parses camera
# streams and network input, so its own code gets a random address too),
# full RELRO (relro + bindnow) and _FORTIFY_SOURCE for the C compiled into
# them (the cgo wrappers, SQLite).
buildflags=(-buildmode=pie -ldflags "-s -w -X main.version=$version -extldflags '-Wl,-z,relro -Wl,-z,now'")
fortify=CGO_CPPFLAGS=-D_FORTIFY_SOURCE=2
if [ "$arch" = amd64 ]; then
  [ "$(go env GOARCH)" = amd64 ] || { echo "build.sh: the amd64 package is built on an amd64 host" >&2; exit 1; }
  env CGO_ENABLED=1 "$fortify" go build "${buildflags[@]}" -o "$work/bin/" ./cmd/edged ./cmd/edgectl
  golist=(env CGO_ENABLED=1 GOOS=linux GOARCH=amd64 go list)
  objcopy=objcopy
else
  ./scripts/arm64/sysroot.sh >/dev/null
  ./scripts/arm64/env.sh env "$fortify" go build "${buildflags[@]}" -o "$work/bin/" ./cmd/edged ./cmd/edgectl
  golist=(./scripts/arm64/env.sh go list)
  objcopy=aarch64-linux-gnu-objcopy
fi
machine=$([ "$arch" = amd64 ] && echo X86-64 || echo AArch64)
for b in edged edgectl; do
  readelf -h "$work/bin/$b" | grep -q "Machine:.*$machine" || { echo "build.sh: $b is not an $machine executable" >&2; exit 1; }
  # The C compiler's version notes, as dh_strip drops them.
  "$objcopy" --remove-section=.comment --remove-section=.note "$work/bin/$b"
  install -D -m 0755 "$work/bin/$b" "$root/usr/bin/$b"
done

# --- the unit, the configuration, the documentation.
install -D -m 0644 "$here/dozor-edged.service" "$root/lib/systemd/system/dozor-edged.service"
install -d -m 0755 "$root/etc/dozor"
"$here/config.sh" edge/config/example.yaml >"$root/etc/dozor/edged.yaml"
chmod 0644 "$root/etc/dozor/edged.yaml"
doc=$root/usr/share/doc/$pkg
install -D -m 0644 "$here/README.Debian" "$doc/README.Debian"
"$here/copyright.sh" "${golist[@]}" >"$doc/copyright"
{
  echo "$pkg ($version) bookworm; urgency=medium"
  echo
  echo "  * Built from commit $(git rev-parse --short HEAD) ($(git describe --tags --always --dirty))."
  echo
  echo " -- $maintainer  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$doc/changelog.gz"
chmod 0644 "$doc/copyright" "$doc/changelog.gz"
if [ -s "$here/lintian-overrides" ]; then
  install -D -m 0644 "$here/lintian-overrides" "$root/usr/share/lintian/overrides/$pkg"
fi

# --- control: the libraries' packages as dpkg-shlibdeps derives them.
depends=$("$here/shlibdeps.sh" "$arch" "$root/usr/bin/edged" "$root/usr/bin/edgectl")
installed_size=$(du -sk --apparent-size --exclude=DEBIAN "$root" | cut -f1)
VERSION=$version ARCH=$arch MAINTAINER=$maintainer INSTALLED_SIZE=$installed_size SHLIBS_DEPENDS=$depends \
  awk '{ while (match($0, /@[A-Z_]+@/)) {
           k = substr($0, RSTART + 1, RLENGTH - 2)
           $0 = substr($0, 1, RSTART - 1) ENVIRON[k] substr($0, RSTART + RLENGTH) }
         print }' "$here/control.in" >"$root/DEBIAN/control"
if grep -q '@[A-Z_]*@' "$root/DEBIAN/control"; then
  echo "build.sh: control still holds a placeholder:" >&2
  grep '@[A-Z_]*@' "$root/DEBIAN/control" >&2
  exit 1
fi
echo /etc/dozor/edged.yaml >"$root/DEBIAN/conffiles"
install -m 0755 "$here/debian/postinst" "$here/debian/prerm" "$here/debian/postrm" "$root/DEBIAN/"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
# Only this build's package in OUT_DIR, so ./dozor-edge_*_<arch>.deb is one file.
rm -f "$out/${pkg}_"*"_$arch.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "deb: $deb ($(du -h --apparent-size "$deb" | cut -f1), installed $((installed_size / 1024)) MiB) in $(($(date +%s) - t0)) s"
