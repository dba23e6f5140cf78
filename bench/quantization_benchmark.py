#!/usr/bin/python3
"""int8 quantization (ml-export --quantize int8 or dynamic) against the float export, in one run.

For each architecture: train it briefly on the hymenoptera photographs (ml-split, then ml-train from
scratch for --epochs epochs at --input_size), export it as float and quantized (static int8
calibrated on the fold's training images, or dynamic for an ARCH written as NAME:dynamic), validated
on the test split in ONNX Runtime, then time ONNX Runtime at batch 1 on both files, alternating them
in rounds. Prints a markdown table: file size int8/float, latency int8/float (median of the
per-round medians), top-1 agreement with the float LibTorch model, the accuracy of both, and the
verdict.

With --activation_types, each static file is also timed with its activations stored as int8
instead of uint8 (the same quantization: every activation zero point moved by -128, written by the
onnx Python package), to see which of the two ONNX Runtime runs faster on this CPU.

Usage (from the repository root, after scripts/setup.sh):
  /usr/bin/python3 bench/quantization_benchmark.py [--work_dir DIR] [--epochs 3] [--input_size 224]
      [--threads 2] [--runs 50] [--rounds 3] [--method percentile] [--keep_first_conv_float]
      [--activation_types] [ARCH[:dynamic] ...]
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
DEFAULT_ARCHITECTURES = ["resnet18", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "vit_b_16:dynamic"]


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
    run_folder = runs / "hymenoptera_base_fold_0"
    checkpoint = run_folder / "weights" / "best.pt"
    state = run_folder / "run_state.json"
    if state.is_file() and json.loads(state.read_text()).get("state") in ("completed", "early_stopped"):
        return checkpoint
    # An interrupted run would leave a checkpoint of fewer epochs: train again from scratch.
    shutil.rmtree(run_folder, ignore_errors=True)
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


def with_int8_activations(uint8_file, int8_file):
    """The same quantization with int8 activations: each uint8 zero point z of a QuantizeLinear
    becomes the int8 z - 128, and every value it quantizes moves by the same -128."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(uint8_file))
    initializers = {tensor.name: tensor for tensor in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type != "QuantizeLinear" or len(node.input) < 3:
            continue
        zero_point = initializers[node.input[2]]
        if zero_point.data_type != onnx.TensorProto.UINT8:
            continue
        moved = (numpy_helper.to_array(zero_point).astype(np.int16) - 128).astype(np.int8)
        zero_point.CopyFrom(numpy_helper.from_array(moved, zero_point.name))
    # The stored shape inference typed the quantized tensors uint8; ONNX Runtime re-infers them.
    del model.graph.value_info[:]
    onnx.checker.check_model(model)
    onnx.save(model, str(int8_file))


def quantize(bin_dir, checkpoint, output, mode, args):
    command = [bin_dir / "ml-export", "--checkpoint_path", checkpoint, "--output_path", output, "--quantize", mode,
               "--runtime", "onnxruntime", "--threads", args.threads]
    if mode == "int8":
        command += ["--calibration_images", args.calibration_images, "--calibration_method", args.method]
        if args.keep_first_conv_float:
            command.append("--keep_first_conv_float")
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True)
    report = output.with_suffix(".validation.json")
    # 1 with a report: the verdict is FAIL, which the table shows; anything else is a failure.
    if result.returncode not in (0, 1) or not report.is_file():
        raise RuntimeError(result.stderr)
    return json.loads(report.read_text())


def measure(bin_dir, work, name, args):
    architecture, _, mode = name.partition(":")
    mode = mode or "int8"
    checkpoint = train(bin_dir, work, architecture, args.epochs, args.input_size)
    folder = work / "exports" / architecture
    folder.mkdir(parents=True, exist_ok=True)
    float_file, int8_file = folder / "float.onnx", folder / f"{mode}.onnx"
    run([bin_dir / "ml-export", "--checkpoint_path", checkpoint, "--output_path", float_file, "--no-validate"])
    report = quantize(bin_dir, checkpoint, int8_file, mode, args)
    images = report["validation_data"]

    input_file = folder / "input.bin"
    np.random.default_rng(0).standard_normal((1, 3, args.input_size, args.input_size)).astype("<f4").tofile(input_file)
    files = {"float": float_file, "int8": int8_file}
    if args.activation_types and mode == "int8":
        files["int8_activations"] = folder / "int8_activations.onnx"
        with_int8_activations(int8_file, files["int8_activations"])
    times = {key: [] for key in files}
    for _ in range(args.rounds):
        for key, path in files.items():
            times[key].append(ort_median_ms(path, input_file, args.input_size, args.threads, args.runs))
    float_ms, int8_ms = statistics.median(times["float"]), statistics.median(times["int8"])
    int8_activations_ms = statistics.median(times["int8_activations"]) if "int8_activations" in times else None
    return {
        "name": f"{architecture} ({mode})",
        "int8_activations_ms": int8_activations_ms,
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
    parser.add_argument("--method", default="percentile", choices=["minmax", "percentile"])
    parser.add_argument("--keep_first_conv_float", action="store_true")
    parser.add_argument("--activation_types", action="store_true",
                        help="also time each static file with int8 instead of uint8 activations")
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
    activation_rows = []
    for architecture in args.architectures:
        try:
            r = measure(bin_dir, work, architecture, args)
        except (subprocess.CalledProcessError, RuntimeError) as error:
            detail = error.stderr if isinstance(error, subprocess.CalledProcessError) else str(error)
            print(f"| {architecture} | failed: {detail.strip().splitlines()[-1] if detail.strip() else error} |", flush=True)
            continue
        if r["int8_activations_ms"] is not None:
            activation_rows.append(f"| {r['name']} | {r['int8_ms']:.2f} ms | {r['int8_activations_ms']:.2f} ms "
                                   f"| {r['int8_activations_ms'] / r['int8_ms']:.2f}x |")
        accuracy = "n/a" if r["float_accuracy"] is None else \
            f"{100 * r['float_accuracy']:.1f}% -> {100 * r['int8_accuracy']:.1f}%"
        print(f"| {r['name']} | {r['int8_mb']:.2f} / {r['float_mb']:.2f} MB = {r['int8_mb'] / r['float_mb']:.3f}x "
              f"| {r['int8_ms']:.2f} / {r['float_ms']:.2f} ms = {r['int8_ms'] / r['float_ms']:.2f}x "
              f"| {100 * r['agreement']:.1f}% of {r['images']} | {accuracy} | {r['cosine']:.4f} | {r['status']} |",
              flush=True)
    if activation_rows:
        print("\n| model | uint8 activations | int8 activations | int8 / uint8 |\n|---|---|---|---|")
        print("\n".join(activation_rows))


if __name__ == "__main__":
    main()
