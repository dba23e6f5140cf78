#!/usr/bin/env bash
# Installs the built library into a temporary prefix, builds examples/export_custom_module against
# that copy alone (find_package(mltk)), and runs it: its C++ module must export and validate with
# PASS in ONNX Runtime. Also checks that the installed command-line tools start and find the files
# they run.
#
#   tests/package/install_and_build_example.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source_dir="$1"
build_dir="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build_dir" --prefix "$work/prefix" > "$work/install.log" || { cat "$work/install.log"; fail "cmake --install"; }
for file in lib/libmltk.a lib/cmake/mltk/mltkConfig.cmake lib/cmake/mltk/mltkConfigVersion.cmake \
            include/mltk/onnx_export/exporter.h bin/ml-export share/mltk/tools/ort/run_model.js; do
  [[ -f "$work/prefix/$file" ]] || fail "the install lacks $file"
done
"$work/prefix/bin/ml-export" --help > /dev/null || fail "the installed ml-export --help"

launcher=()
if command -v ccache > /dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
# Only the install prefix is searched, so a package found elsewhere (the build tree) cannot stand in.
cmake -S "$source_dir/examples/export_custom_module" -B "$work/example" -DCMAKE_PREFIX_PATH="$work/prefix" \
      -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF "${launcher[@]}" > "$work/configure.log" \
  || { cat "$work/configure.log"; fail "configuring the example against the installed package"; }
grep -q "mltk_DIR:PATH=$work/prefix/lib/cmake/mltk" "$work/example/CMakeCache.txt" \
  || fail "the example did not find mltk in the install prefix"
cmake --build "$work/example" -j2 > "$work/build.log" || { cat "$work/build.log"; fail "building the example"; }

cd "$work"
"$work/example/export_custom_module" "$work/small_net.onnx" onnxruntime | tee "$work/run.log" \
  || fail "the example's export did not validate"
grep -q "^validation: PASS" "$work/run.log" || fail "the example's validation is not PASS"
/usr/bin/python3 - "$work/small_net.validation.json" <<'PY' || fail "the validation report"
import json, sys
report = json.load(open(sys.argv[1]))
assert report["runtime"].startswith("onnxruntime"), report["runtime"]
assert [b["batch_size"] for b in report["batches"]] == [1, 3], report["batches"]
assert all(b["status"] == "PASS" for b in report["batches"])
PY
# The file itself, in Python's onnx checker (an independent reader of the format).
/usr/bin/python3 -c "import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)" \
  "$work/small_net.onnx" || fail "onnx.checker rejects the example's file"
echo "installed package: example built and validated"
