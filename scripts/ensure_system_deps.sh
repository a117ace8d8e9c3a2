#!/usr/bin/env bash
# Installs the Debian packages robomem's wheels need at import time, only when missing.
# open3d needs libusb-1.0 and libgomp; they are absent from a bare Debian image.
set -euo pipefail
missing=()
have_lib() { ldconfig -p 2>/dev/null | grep -q "$1"; }
have_lib 'libusb-1.0.so.0' || missing+=(libusb-1.0-0)
have_lib 'libgomp.so.1' || missing+=(libgomp1)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "robomem: installing Debian packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
