#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with AddressSanitizer and UndefinedBehaviorSanitizer
# (Debian's clang), writes seed corpora from real files, and runs each target for a bounded time.
# Exits non-zero on any finding (crash, sanitizer report, abort, timeout, out-of-memory) and keeps
# the input that caused it.
#
#   scripts/fuzz.sh [TARGET...]              build, seed and run every target (or the ones named)
#   scripts/fuzz.sh --build [TARGET...]      only build
#   scripts/fuzz.sh --run TARGET FILE...     run one target on given inputs (reproducing a finding)
#
#   MLTK_FUZZ_SECONDS   run time per target (default 45)
#   MLTK_FUZZ_RSS_MB    memory limit per process (default 2048)
#   MLTK_FUZZ_DIR       objects, binaries, corpora and findings (default $MLTK_BUILD_DIR/fuzz or build/fuzz)
#   MLTK_HYMENOPTERA_DIR  the images of the image seeds (default ../shared/datasets/hymenoptera_data)
#
# Each target compiles only the sources it exercises, instrumented; its corpus grows in
# $MLTK_FUZZ_DIR/corpus/<target> across runs, findings go to $MLTK_FUZZ_DIR/findings/<target>/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${MLTK_BUILD_DIR:-$root/build}"
fuzz_dir="${MLTK_FUZZ_DIR:-$build_dir/fuzz}"
seconds="${MLTK_FUZZ_SECONDS:-45}"
rss_mb="${MLTK_FUZZ_RSS_MB:-2048}"
# Seconds one input may take before it counts as a hang: a legitimate input can take several (an
# image of the largest size decode_image accepts, 8192 x 8192, decoded under AddressSanitizer).
unit_timeout=60
hymenoptera="${MLTK_HYMENOPTERA_DIR:-$root/../shared/datasets/hymenoptera_data}"

# The sources each target compiles (besides fuzz/<target>_fuzzer.cpp and fuzz/fuzz_input_file.cpp)
# and the system libraries it links.
declare -A sources=(
  [checkpoint]="src/mltk/checkpoint/torch_file_reader.cpp src/mltk/checkpoint/zip_checksums.cpp"
  [onnx_model]="src/mltk/runtime/onnx_model_checks.cpp src/mltk/runtime/onnx_model_loader.cpp"
  [config]="src/mltk/config/config.cpp src/mltk/config/schema.cpp"
  [image]="src/mltk/data/image_io.cpp"
  [split_index]="src/mltk/data/split_index.cpp src/mltk/common/atomic_file.cpp"
)
torch_libs="-ltorch -ltorch_cpu -lc10"
declare -A libraries=(
  [checkpoint]="$torch_libs -lz"
  [onnx_model]="$torch_libs -lonnx -lonnx_proto -lprotobuf"
  [config]="-lyaml-cpp"
  [image]="-lopencv_imgcodecs -lopencv_imgproc -lopencv_core -ljpeg"
  [split_index]=""
)
# LeakSanitizer matches suppressions against the allocation's stack, which the fast (frame-pointer)
# unwinder cannot follow through LibTorch's miniz code; the slow one can.
declare -A sanitizer_options=([checkpoint]="fast_unwind_on_malloc=0")
all_targets=(checkpoint onnx_model config image split_index)

compile_flags=(
  -std=gnu++17 -O1 -g -fno-omit-frame-pointer
  -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
  # UBSan's vptr check needs the type information of the uninstrumented libraries (LibTorch,
  # OpenCV) whose objects it would check; every other undefined-behaviour check stays on.
  -fno-sanitize=vptr
  -I"$root/src" -I"$root/fuzz" -I/usr/include/opencv4 -isystem /usr/include/torch/csrc/api/include
  # As the project's CMake build (LibTorch, ONNX, spdlog and fmt as Debian builds them).
  -D_GLIBCXX_USE_CXX11_ABI=1 -DONNX_ML=1 -DONNX_NAMESPACE=onnx -DFMT_SHARED -DSPDLOG_COMPILED_LIB
  -DSPDLOG_FMT_EXTERNAL -DSPDLOG_SHARED_LIB
)
link_flags=(-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-sanitize=vptr -pthread -ldl)

# Leaks are checked per input by libFuzzer; the one known LibTorch leak is suppressed by
# fuzz/lsan_suppressions.txt (see there).
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/fuzz/lsan_suppressions.txt:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

die() { echo "fuzz: $*" >&2; exit 2; }

check_toolchain() {
  command -v clang++ >/dev/null || die "clang++ not found; run scripts/setup.sh (it installs clang and libclang-rt-14-dev)"
  local fuzzer_runtime
  fuzzer_runtime="$(clang++ -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null)"
  if [[ ! -f "$fuzzer_runtime" ]]; then
    fuzzer_runtime="$(find "$(clang++ -print-resource-dir)" -name 'libclang_rt.fuzzer-*.a' 2>/dev/null | head -n 1)"
  fi
  [[ -n "$fuzzer_runtime" && -f "$fuzzer_runtime" ]] ||
    die "libFuzzer's runtime not found; run scripts/setup.sh (it installs libclang-rt-14-dev)"
}

compiler=(clang++)
if command -v ccache >/dev/null; then
  compiler=(env "CCACHE_BASEDIR=$root" ccache clang++)
fi

object_of() { echo "$fuzz_dir/obj/${1%.cpp}.o"; }

compile() {
  local source="$1" object
  object="$(object_of "$source")"
  mkdir -p "$(dirname "$object")"
  "${compiler[@]}" "${compile_flags[@]}" -c "$root/$source" -o "$object"
}

build_targets() {
  check_toolchain
  local target source
  local -A wanted=()
  for target in "$@"; do
    for source in fuzz/fuzz_input_file.cpp "fuzz/${target}_fuzzer.cpp" ${sources[$target]}; do wanted[$source]=1; done
  done
  echo "fuzz: compiling ${#wanted[@]} sources into $fuzz_dir/obj"
  local pids=() failures=0 pid
  for source in "${!wanted[@]}"; do
    while (($(jobs -rp | wc -l) >= $(nproc))); do sleep 0.2; done
    compile "$source" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failures=$((failures + 1)); done
  ((failures == 0)) || die "$failures sources did not compile"
  mkdir -p "$fuzz_dir/bin"
  for target in "$@"; do
    local objects=()
    for source in fuzz/fuzz_input_file.cpp "fuzz/${target}_fuzzer.cpp" ${sources[$target]}; do
      objects+=("$(object_of "$source")")
    done
    # shellcheck disable=SC2086  # the library lists are word lists
    clang++ "${objects[@]}" ${libraries[$target]} "${link_flags[@]}" -o "$fuzz_dir/bin/${target}_fuzzer"
  done
}

run_target() {
  local target="$1" log="$fuzz_dir/logs/$1.log"
  mkdir -p "$fuzz_dir/corpus/$target" "$fuzz_dir/findings/$target" "$fuzz_dir/logs"
  local status=0
  ASAN_OPTIONS="${ASAN_OPTIONS:-${sanitizer_options[$target]:-}}" "$fuzz_dir/bin/${target}_fuzzer" -max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout="$unit_timeout" \
    -print_final_stats=1 -artifact_prefix="$fuzz_dir/findings/$target/" \
    "$fuzz_dir/corpus/$target" "$fuzz_dir/seeds/$target" >"$log" 2>&1 || status=$?
  local executions
  executions="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  if ((status)); then
    echo "fuzz: $target FAILED after ${executions:-?} executions (exit $status); log $log" >&2
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|artifact_prefix|Test unit written)' "$log" | head -n 20 >&2 || true
    return 1
  fi
  printf 'fuzz: %-12s %10s executions in %ss, corpus %s inputs, no findings\n' "$target" "$executions" "$seconds" \
    "$(find "$fuzz_dir/corpus/$target" -type f | wc -l)"
}

mode=fuzz
if [[ "${1:-}" == --build ]]; then mode=build; shift; fi
if [[ "${1:-}" == --run ]]; then
  [[ $# -ge 3 ]] || die "usage: scripts/fuzz.sh --run TARGET FILE..."
  target="$2"; shift 2
  [[ -n "${sources[$target]+x}" ]] || die "unknown target '$target' (targets: ${all_targets[*]})"
  build_targets "$target"
  ASAN_OPTIONS="${ASAN_OPTIONS:-${sanitizer_options[$target]:-}}" exec "$fuzz_dir/bin/${target}_fuzzer" -rss_limit_mb="$rss_mb" -timeout="$unit_timeout" "$@"
fi

targets=("$@")
((${#targets[@]})) || targets=("${all_targets[@]}")
for target in "${targets[@]}"; do
  [[ -n "${sources[$target]+x}" ]] || die "unknown target '$target' (targets: ${all_targets[*]})"
done

build_targets "${targets[@]}"
[[ "$mode" == build ]] && exit 0

[[ -d "$hymenoptera" ]] || echo "fuzz: no hymenoptera images in $hymenoptera; image seeds are the generated ones only" >&2
/usr/bin/python3 "$root/fuzz/make_seeds.py" "$root" "$fuzz_dir/seeds" "$([[ -d "$hymenoptera" ]] && echo "$hymenoptera")"

failed=()
for target in "${targets[@]}"; do
  run_target "$target" || failed+=("$target")
done
if ((${#failed[@]})); then
  echo "fuzz: findings in ${failed[*]}; inputs kept in $fuzz_dir/findings/<target>/, reproduce with scripts/fuzz.sh --run <target> <file>" >&2
  exit 1
fi
