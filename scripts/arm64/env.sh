#!/usr/bin/env bash
# The environment of the arm64 cross build: Debian's aarch64 cross
# toolchain compiling and linking against the arm64 sysroot
# (scripts/arm64/sysroot.sh), pkg-config reading the sysroot's .pc files,
# and the arm64 build cache under var/arm64.
#
#   . scripts/arm64/env.sh                     export into this shell
#   scripts/arm64/env.sh go build ./cmd/...    run one command in it
#
# Overrides: ARM64_DIR (var/arm64), DOZOR_ARM64_GOCACHE (ARM64_DIR/gocache),
# DOZOR_ARM64_MARCH (unset: baseline armv8-a; e.g. armv8.2-a for a
# Cortex-A55/A76 box; see scripts/arm64/nonative).

_arm64_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
_arm64_repo=$(cd "$_arm64_here/../.." && pwd)

export ARM64_DIR=${ARM64_DIR:-$_arm64_repo/var/arm64}
export DOZOR_ARM64_SYSROOT=$ARM64_DIR/sysroot
_sr=$DOZOR_ARM64_SYSROOT
_multi=$_sr/usr/lib/aarch64-linux-gnu

export GOOS=linux GOARCH=arm64 CGO_ENABLED=1
unset GOARM64 2>/dev/null || true
export GOCACHE=${DOZOR_ARM64_GOCACHE:-$ARM64_DIR/gocache}

# Compiler and linker both see only the sysroot's headers and libraries.
export CC="$_arm64_here/nonative aarch64-linux-gnu-gcc --sysroot=$_sr"
export CXX="$_arm64_here/nonative aarch64-linux-gnu-g++ --sysroot=$_sr"
export AR=aarch64-linux-gnu-ar
export CGO_CFLAGS="-O2 -g"
# -Wno-psabi: GCC notes that C++17 changed how std::pair is passed on
# aarch64 (GCC 10.1); everything here is built by the same compiler.
export CGO_CXXFLAGS="-O2 -g -Wno-psabi"
export CGO_CPPFLAGS=""
# -rpath-link: where ld finds the libraries the linked ones need in turn
# (OpenCV's and FFmpeg's own dependencies, the BLAS alternatives); they are
# not searched through -L. Nothing here ends up in the binary.
export CGO_LDFLAGS="-L$_multi -Wl,-rpath-link,$_multi -Wl,-rpath-link,$_multi/openblas-pthread -Wl,-rpath-link,$_multi/blas -Wl,-rpath-link,$_multi/lapack -Wl,-rpath-link,$_multi/atlas -Wl,-rpath-link,$_sr/usr/lib"

# pkg-config: only the sysroot's .pc files, their paths prefixed with it.
export PKG_CONFIG=pkg-config
export PKG_CONFIG_SYSROOT_DIR=$_sr
export PKG_CONFIG_LIBDIR=$_multi/pkgconfig:$_sr/usr/lib/pkgconfig:$_sr/usr/share/pkgconfig
unset PKG_CONFIG_PATH

# go test -exec runs the arm64 test binaries under qemu.
export DOZOR_ARM64_EXEC=$_arm64_here/qemu

unset _arm64_here _arm64_repo _sr _multi

if [ "${BASH_SOURCE[0]}" = "$0" ] && [ $# -gt 0 ]; then
  exec "$@"
fi
