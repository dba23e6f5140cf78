#!/usr/bin/python3
"""int8 static quantization (ml-export --quantize int8) against the float export, in one run.

For each architecture: train it briefly on the hymenoptera photographs (ml-split, then ml-train from
scratch for --epochs epochs at --input_size), export it as float and as int8 (calibrated on the
fold's training images, validated on the test split in ONNX Runtime), then time ONNX Runtime at
batch 1 on both files, alternating them in rounds. Prints a markdown table: file size int8/float,
latency int8/float (median of the per-round medians), top-1 agreement with the float LibTorch model,
the accuracy of both, and the verdict.

Usage (from the repository root, after scripts/setup.sh):
  /usr/bin/python3 bench/quantization_benchmark.py [--work_dir DIR] [--epochs 3] [--input_size 224]
      [--threads 2] [--runs 50] [--rounds 3] [--method minmax] [--keep_first_conv_float] [ARCH ...]
The work dir keeps the data and the trained checkpoints, so a second run with the same --work_dir
only exports and measures.
"""
import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import tempfile

import numpy as np

from data_paths import hymenoptera_dir

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_ARCHITECTURES = ["resnet18", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0"]


def run(command):
    return subprocess.run([str(part) for part in command], check=True, capture_output=True, text=True)


def prepare_data(bin_dir, work):
    raw = work / "data" / "hymenoptera" / "raw"
    if not raw.is_dir():
        raw.mkdir(parents=True)
        for part in ("train", "val"):
            shutil.copytree(pathlib.Path(hymenoptera_dir()) / part, raw / part)
    if not (raw.parent / "splits" / "test.txt").is_file():
        run([bin_dir / "ml-split", "--raw_data", raw, "--folds", 5])


def train(bin_dir, work, architecture, epochs, input_size):
    runs = work / "runs" / architecture
    checkpoint = runs / "hymenoptera_base_fold_0" / "weights" / "best.pt"
    if checkpoint.is_file():
        return checkpoint
    config = work / f"{architecture}.yaml"
    config.write_text(f"""data:
  dataset_name: hymenoptera
  data_dir: {work / 'data'}
  fold: 0
  num_folds: 5
model:
  type: base
  architecture: {architecture}
  input_size: {input_size}
training:
  num_epochs: {epochs}
  batch_size: 16
optimizer:
  name: adam
  lr: 0.001
scheduler:
  name: none
""")
    run([bin_dir / "ml-train", "--config", config, "--runs_dir", runs])
    return checkpoint


def ort_median_ms(model, input_file, input_size, threads, runs):
    request = model.with_suffix(".request.json")
    request.write_text(json.dumps({"model": str(model), "threads": threads, "inputs": [
        {"dims": [1, 3, input_size, input_size], "dtype": "float32", "file": str(input_file)}]}))
    out = run(["node", ROOT / "tools" / "ort" / "run_model.js", request, "--benchmark", runs, "--warmup", 10]).stdout
    return json.loads(out.strip().splitlines()[-1])["median_ms"]


def measure(bin_dir, work, architecture, args):
    checkpoint = train(bin_dir, work, architecture, args.epochs, args.input_size)
    folder = work / "exports" / architecture
    folder.mkdir(parents=True, exist_ok=True)
    float_file, int8_file = folder / "float.onnx", folder / "int8.onnx"
    run([bin_dir / "ml-export", "--checkpoint_path", checkpoint, "--output_path", float_file, "--no-validate"])
    quantize = [bin_dir / "ml-export", "--checkpoint_path", checkpoint, "--output_path", int8_file, "--quantize", "int8",
                "--calibration_images", args.calibration_images, "--calibration_method", args.method,
                "--runtime", "onnxruntime", "--threads", args.threads]
    if args.keep_first_conv_float:
        quantize.append("--keep_first_conv_float")
    result = subprocess.run([str(part) for part in quantize], capture_output=True, text=True)
    if result.returncode not in (0, 1):  # 1: the verdict is FAIL, which the table reports
        raise RuntimeError(result.stderr)
    report = json.loads((folder / "int8.validation.json").read_text())
    images = report["validation_data"]

    input_file = folder / "input.bin"
    np.random.default_rng(0).standard_normal((1, 3, args.input_size, args.input_size)).astype("<f4").tofile(input_file)
    float_times, int8_times = [], []
    for _ in range(args.rounds):
        float_times.append(ort_median_ms(float_file, input_file, args.input_size, args.threads, args.runs))
        int8_times.append(ort_median_ms(int8_file, input_file, args.input_size, args.threads, args.runs))
    float_ms, int8_ms = statistics.median(float_times), statistics.median(int8_times)
    return {
        "architecture": architecture,
        "float_mb": float_file.stat().st_size / 1e6,
        "int8_mb": int8_file.stat().st_size / 1e6,
        "float_ms": float_ms,
        "int8_ms": int8_ms,
        "agreement": images["top1_agreement"],
        "images": images["images"],
        "float_accuracy": images["model_accuracy"],
        "int8_accuracy": images["onnx_accuracy"],
        "cosine": images["metrics"]["cosine_similarity"] if images["metrics"] else float("nan"),
        "status": report["status"],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("architectures", nargs="*", default=DEFAULT_ARCHITECTURES)
    parser.add_argument("--build_dir", default=os.environ.get("MLTK_BUILD_DIR", ROOT / "build"))
    parser.add_argument("--work_dir")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--input_size", type=int, default=224)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calibration_images", type=int, default=256)
    parser.add_argument("--method", default="minmax", choices=["minmax", "percentile"])
    parser.add_argument("--keep_first_conv_float", action="store_true")
    args = parser.parse_args()

    bin_dir = pathlib.Path(args.build_dir) / "bin"
    work = pathlib.Path(args.work_dir or tempfile.mkdtemp(prefix="mltk-quantization-bench-")).resolve()
    prepare_data(bin_dir, work)
    print(f"hymenoptera, {args.epochs} epochs from scratch at {args.input_size}px; calibration: "
          f"{args.calibration_images} training images, {args.method}"
          f"{', first convolution float' if args.keep_first_conv_float else ''}; ONNX Runtime at batch 1, "
          f"{args.threads} threads, median of {args.rounds} rounds x {args.runs} runs; work dir {work}\n")
    print("| model | size int8 / float | ORT latency int8 / float (batch 1) | top-1 agreement | accuracy float -> int8 "
          "| logit cosine | verdict |")
    print("|---|---|---|---|---|---|---|")
    for architecture in args.architectures:
        try:
            r = measure(bin_dir, work, architecture, args)
        except (subprocess.CalledProcessError, RuntimeError) as error:
            detail = error.stderr if isinstance(error, subprocess.CalledProcessError) else str(error)
            print(f"| {architecture} | failed: {detail.strip().splitlines()[-1] if detail.strip() else error} |", flush=True)
            continue
        accuracy = "n/a" if r["float_accuracy"] is None else \
            f"{100 * r['float_accuracy']:.1f}% -> {100 * r['int8_accuracy']:.1f}%"
        print(f"| {architecture} | {r['int8_mb']:.2f} / {r['float_mb']:.2f} MB = {r['int8_mb'] / r['float_mb']:.3f}x "
              f"| {r['int8_ms']:.2f} / {r['float_ms']:.2f} ms = {r['int8_ms'] / r['float_ms']:.2f}x "
              f"| {100 * r['agreement']:.1f}% of {r['images']} | {accuracy} | {r['cosine']:.4f} | {r['status']} |",
              flush=True)


if __name__ == "__main__":
    main()
