#!/usr/bin/env bash
# Installs the host (amd64) tools the arm64 cross build and its emulated test
# run need, only those missing: Debian's aarch64 cross toolchain, qemu's
# user-mode emulator, and the inspection tools the sysroot and runtime
# checks use. The arm64 libraries themselves go into the sysroot
# (scripts/arm64/sysroot.sh), never onto this machine.
set -euo pipefail

packages=(
  gcc-aarch64-linux-gnu g++-aarch64-linux-gnu binutils-aarch64-linux-gnu
  qemu-user-static         # qemu-aarch64-static -L SYSROOT runs the arm64 binaries and tests
  pkg-config
  file                     # make arm64 prints what it built
  ca-certificates
)

exec "$(dirname "$0")/../deps.sh" "${packages[@]}"
