#!/usr/bin/env bash
# Install the Debian packages the project needs, only those not installed yet (idempotent, fast
# on a second run): CJK fonts for matplotlib charts, Chromium for the offline-brief browser test,
# Tesseract with its Simplified Chinese model (OCR of scans, run as a separate process), LibreOffice
# headless with its UNO bridge (old .doc/.wps and .xls/.et conversion, in a converter process).
set -euo pipefail
needed=(fonts-noto-cjk chromium
        tesseract-ocr tesseract-ocr-chi-sim
        libreoffice-writer-nogui libreoffice-calc-nogui python3-uno)
missing=()
for pkg in "${needed[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
  echo "system-deps: missing ${missing[*]}; install them as root (apt-get install ${missing[*]})" >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
