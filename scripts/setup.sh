#!/usr/bin/env bash
# Installs what the project needs (Debian packages, the ONNX Runtime Node module), then configures
# and builds. Idempotent: on a ready machine it only runs an incremental build.
#
#   scripts/setup.sh            install + build (Release, into build/)
#   MLTK_BUILD_DIR=dir scripts/setup.sh   build elsewhere
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${MLTK_BUILD_DIR:-$root/build}"

packages=(
  # toolchain
  g++ make cmake ccache pkg-config
  # libraries
  libtorch-dev libopenblas0-openmp libonnx-dev libprotobuf-dev protobuf-compiler zlib1g-dev
  libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  libopencv-core-dev libopencv-imgcodecs-dev libopencv-imgproc-dev libjpeg62-turbo-dev
  # quickstart data (scripts/quickstart.sh)
  dataset-fashion-mnist
  # tests and benchmarks: oracles and conformance data
  libgtest-dev libbenchmark-dev libonnx-testdata python3-torch python3-torchvision python3-onnx
)

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

if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build_dir" -j"$(nproc)"
echo "setup: built into $build_dir/bin"
