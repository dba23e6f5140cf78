#!/usr/bin/env bash
# Sets up and builds (scripts/setup.sh), then runs the whole test suite through CTest.
# Extra arguments go to ctest, e.g. scripts/test.sh -R torchvision_parity
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
cd "${MLTK_BUILD_DIR:-$root/build}"
ctest -j"$(nproc)" --output-on-failure "$@"
