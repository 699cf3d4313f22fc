#!/bin/sh
# Builds mailward-pam, the small C program through which Mailward checks OS passwords with PAM (P6).
# Usage: scripts/build-pam-helper.sh [OUTPUT]   (default: dist/native/mailward-pam, where
# src/auth/sources/os looks for it). Needs the Debian packages gcc and libpam0g-dev.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC="$ROOT/src/auth/sources/os/mailward-pam.c"
OUT=${1:-"$ROOT/dist/native/mailward-pam"}
CC=${CC:-cc}

if ! command -v "$CC" >/dev/null 2>&1; then
  echo "build-pam-helper: no C compiler ($CC): apt-get install gcc" >&2
  exit 1
fi
if ! printf '#include <security/pam_appl.h>\n' | "$CC" -E - >/dev/null 2>&1; then
  echo "build-pam-helper: PAM headers missing: apt-get install libpam0g-dev" >&2
  exit 1
fi
mkdir -p "$(dirname "$OUT")"
# Hardened the usual Debian way; warnings are errors so a compiler upgrade cannot hide a new one.
"$CC" -std=c11 -O2 -Wall -Wextra -Werror -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE -pie \
  -Wl,-z,relro,-z,now -o "$OUT.tmp.$$" "$SRC" -lpam
chmod 0755 "$OUT.tmp.$$"
mv -f "$OUT.tmp.$$" "$OUT"
