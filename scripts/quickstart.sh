#!/usr/bin/env bash
# From nothing to an exported model in a few minutes: installs and builds (scripts/setup.sh),
# imports a small Fashion-MNIST subset, splits it, trains tiny_net briefly, evaluates the best
# checkpoint on the test split and exports it to ONNX.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${MLTK_BUILD_DIR:-$root/build}/bin"
cd "$root"

# Only the tools run below; scripts/test.sh builds the test suite.
scripts/setup.sh ml-import-fashion-mnist ml-split ml-train ml-inference ml-export

if [[ ! -d data/fashion_mnist/raw ]]; then
  "$bin/ml-import-fashion-mnist" --per_class 100 --output data/fashion_mnist/raw
fi
if [[ ! -f data/fashion_mnist/splits/test.txt ]]; then
  "$bin/ml-split" --raw_data data/fashion_mnist/raw --folds 5
fi

run=runs/fashion_mnist_custom_fold_0
"$bin/ml-train" --config configs/fashion_mnist_config.yaml --fold 0 --overwrite
"$bin/ml-inference" --checkpoint_path "$run/weights/best.pt"

"$bin/ml-export" --checkpoint_path "$run/weights/best.pt"
echo "quickstart: ONNX model written to $run/weights/best.onnx"
