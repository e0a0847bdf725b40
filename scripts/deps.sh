#!/usr/bin/env bash
# Installs the Debian 12 packages dozor builds and tests against, only those
# missing, so a second run costs a dpkg query and nothing else.
#
#   scripts/deps.sh              the packages below
#   scripts/deps.sh PKG...       these instead (scripts/arm64/deps.sh)
set -euo pipefail

packages=(
  build-essential pkg-config
  libopencv-dev            # OpenCV 4.6 for gocv v0.31.0 (DNN, imgproc, imgcodecs)
  libdlib-dev libdlib-data # go-face engine; libdlib-data holds the 68-point landmark model
  libatlas-base-dev        # libcblas for go-face
  libopenblas-dev liblapack-dev
  libjpeg-dev
  libavcodec-dev libavformat-dev libswscale-dev libavutil-dev # camera decode (FFmpeg 5.1)
  mosquitto                # the MQTT broker the uplink tests and the demo start themselves
  chromium                 # headless, renders the hardware test's HTML report in its test
  prometheus               # promtool, which lints the daemon's /metrics in its test
  postgresql               # PostgreSQL 15, started by the region store tests (internal/pgtest)
)

if [ $# -gt 0 ]; then
  packages=("$@")
fi
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
