#!/usr/bin/env bash
# Installs what the project needs (Debian packages, the ONNX Runtime Node module), then configures
# and builds. Idempotent: on a ready machine it only runs an incremental build.
#
#   scripts/setup.sh                      install everything, build everything (Release, into build/)
#   scripts/setup.sh TARGET...            install what the tools need, build only these targets
#   MLTK_BUILD_DIR=dir scripts/setup.sh   build elsewhere
#
# Building named targets skips the test suite (most of a first build) and its packages; a later
# scripts/setup.sh without targets adds them to the same build folder and reuses its objects.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${MLTK_BUILD_DIR:-$root/build}"
targets=("$@")

packages=(
  # toolchain
  g++ make cmake ccache pkg-config
  # libraries
  libtorch-dev libgloo-dev libopenblas0-openmp libonnx-dev libprotobuf-dev protobuf-compiler zlib1g-dev
  libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  libopencv-core-dev libopencv-imgcodecs-dev libopencv-imgproc-dev libjpeg62-turbo-dev libdnnl-dev
  # quickstart data (scripts/quickstart.sh)
  dataset-fashion-mnist
)
if ((${#targets[@]} == 0)); then
  packages+=(
    # tests and benchmarks: oracles and conformance data
    libgtest-dev libbenchmark-dev libonnx-testdata python3-torch python3-torchvision python3-onnx
    # fuzzing (scripts/fuzz.sh): clang with libFuzzer and the sanitizer runtimes
    clang libclang-rt-14-dev
    # browser tests of web apps and reports, driven by puppeteer-core (tools/browser)
    chromium
  )
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup: need root or sudo to install packages" >&2; exit 1; }
    sudo_cmd=(sudo)
  fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# ONNX Runtime for validation and tests. Its install script would fetch GPU binaries; skip it.
if [[ ! -d "$root/tools/ort/node_modules/onnxruntime-node" ]]; then
  echo "setup: installing onnxruntime-node into tools/ort"
  (cd "$root/tools/ort" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error)
fi

# Browser-side files: onnxruntime-web (copied into deployed web apps), uPlot (inlined into HTML
# reports), puppeteer-core (drives Debian's chromium in tests; it downloads no browser).
if [[ ! -d "$root/tools/browser/node_modules/onnxruntime-web" ]]; then
  echo "setup: installing onnxruntime-web, uPlot and puppeteer-core into tools/browser"
  (cd "$root/tools/browser" && npm ci --no-audit --no-fund --loglevel=error)
fi

# The Node example of deployment folders (ml-export --deploy_dir) pins onnxruntime-node, jpeg-js and
# pngjs; the test suite runs it with these modules.
if [[ ! -d "$root/tools/deploy/node/node_modules/jpeg-js" ]]; then
  echo "setup: installing the deployment example's modules into tools/deploy/node"
  (cd "$root/tools/deploy/node" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error)
fi

if ((${#targets[@]})); then
  # A fresh build folder leaves the tests out; one that already has them keeps them.
  if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
    cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DMLTK_BUILD_TESTS=OFF
  fi
  cmake --build "$build_dir" -j"$(nproc)" --target "${targets[@]}"
else
  if [[ ! -f "$build_dir/CMakeCache.txt" ]] || grep -q '^MLTK_BUILD_TESTS:BOOL=OFF' "$build_dir/CMakeCache.txt"; then
    cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DMLTK_BUILD_TESTS=ON
  fi
  cmake --build "$build_dir" -j"$(nproc)"
fi
echo "setup: built into $build_dir/bin"
