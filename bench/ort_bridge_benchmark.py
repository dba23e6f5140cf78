"""The ONNX Runtime bridge's cost, measured against the alternatives in one run.

(1) The validation example: a resnet18 (28x28 input, trained one epoch) on a 1000-image Fashion-MNIST
    subset, exported by `ml-export --batch_size 4 --validation_data <its 200-image test split>`,
    timed as a whole process with `--runtime onnxruntime` and with `--runtime reference`,
    alternating the two in each round. Goal: onnxruntime within 1.5x of reference.
(2) Per-batch overhead at batch 1 on mobilenet_v3_small (torchvision, seeded, exported by
    torch.onnx.export): OnnxRuntimeNode::run through the bridge (build/bin/mltk_ort_bridge_latency)
    against session.run called directly in Node (tools/ort/run_model.js --benchmark), same file,
    same input, same intra-op threads, alternating; and the same for a graph that only takes the
    input's Shape, which leaves the bridge's transfer cost.

Usage (from the repository root, after building ml-import-fashion-mnist, ml-split, ml-train,
ml-export and mltk_ort_bridge_latency):
  /usr/bin/python3 bench/ort_bridge_benchmark.py [--build_dir build] [--work_dir DIR] [--rounds 3]
      [--runs 200] [--threads 2]
The work dir keeps the data and the trained checkpoint, so a second run with the same --work_dir
only measures.
"""
import argparse
import json
import pathlib
import statistics
import subprocess
import tempfile
import time

import onnx
import torch
import torchvision

ROOT = pathlib.Path(__file__).resolve().parent.parent


def run(command, **kwargs):
    return subprocess.run([str(part) for part in command], check=True, capture_output=True, text=True, **kwargs)


def prepare_fashion_mnist_resnet18(bin_dir, work):
    """Returns (checkpoint, test split index), importing, splitting and training when missing."""
    raw = work / "data" / "fashion_mnist" / "raw"
    if not raw.is_dir():
        run([bin_dir / "ml-import-fashion-mnist", "--per_class", 100, "--output", raw])
    test_split = raw.parent / "splits" / "test.txt"
    if not test_split.is_file():
        run([bin_dir / "ml-split", "--raw_data", raw, "--folds", 5])
    checkpoint = work / "runs" / "fashion_mnist_base_fold_0" / "weights" / "best.pt"
    if not checkpoint.is_file():
        config = work / "resnet18_fashion_mnist.yaml"
        config.write_text(f"""data:
  dataset_name: fashion_mnist
  data_dir: {work / 'data'}
  fold: 0
  num_folds: 5
model:
  type: base
  architecture: resnet18
  input_size: 28
  num_classes: null
training:
  num_epochs: 1
  batch_size: 32
  seed: 42
  device: cpu
transforms:
  eval:
    resize: 28
  normalize:
    mean: [0.286, 0.286, 0.286]
    std: [0.353, 0.353, 0.353]
""")
        run([bin_dir / "ml-train", "--config", config, "--runs_dir", work / "runs", "--overwrite"])
    return checkpoint, test_split


def time_export(bin_dir, checkpoint, test_split, output, runtime):
    start = time.perf_counter()
    run([bin_dir / "ml-export", "--checkpoint_path", checkpoint, "--output_path", output, "--batch_size", 4,
         "--validation_data", test_split, "--runtime", runtime])
    return time.perf_counter() - start


def validation_example(bin_dir, work, rounds):
    checkpoint, test_split = prepare_fashion_mnist_resnet18(bin_dir, work)
    images = sum(1 for line in test_split.read_text().splitlines() if line.strip())
    seconds = {"reference": [], "onnxruntime": []}
    for _ in range(rounds):
        for runtime in seconds:
            seconds[runtime].append(time_export(bin_dir, checkpoint, test_split, work / f"resnet18_{runtime}.onnx",
                                                runtime))
    reference = statistics.median(seconds["reference"])
    onnxruntime = statistics.median(seconds["onnxruntime"])
    print(f"\n(1) ml-export resnet18 (28x28), --batch_size 4, --validation_data {images} images, "
          f"median of {rounds} rounds")
    print("| runtime | median s | all rounds s |")
    print("|---|---|---|")
    for runtime, times in seconds.items():
        print(f"| {runtime} | {statistics.median(times):.2f} | {', '.join(f'{t:.2f}' for t in times)} |")
    print(f"onnxruntime / reference = {onnxruntime / reference:.2f} (goal <= 1.5)")


def bridge_and_direct_ms(bin_dir, model_path, input_path, dims, rounds, runs, threads):
    """Per-round medians of OnnxRuntimeNode::run and of session.run in Node, alternating."""
    request = model_path.with_suffix(".request.json")
    request.write_text(json.dumps({"model": str(model_path), "threads": threads,
                                   "inputs": [{"dims": dims, "dtype": "float32", "file": str(input_path)}]}))
    warmup = 20
    bridge, direct = [], []
    for _ in range(rounds):
        result = run([bin_dir / "mltk_ort_bridge_latency", model_path, input_path, ",".join(map(str, dims)), threads,
                      runs, warmup])
        bridge.append(json.loads(result.stdout)["median_ms"])
        result = run(["node", ROOT / "tools" / "ort" / "run_model.js", request, "--benchmark", runs, "--warmup", warmup])
        direct.append(json.loads(result.stdout)["median_ms"])
    return bridge, direct


def shape_only_model(path):
    """The same input, a graph that does next to nothing (Shape): what remains is the transfer."""
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Shape", ["input"], ["output"])], "shape_only",
        [onnx.helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, [1, 3, 224, 224])],
        [onnx.helper.make_tensor_value_info("output", onnx.TensorProto.INT64, [4])])
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 14)])
    model.ir_version = 8
    onnx.save(model, str(path))


def mobilenet_overhead(bin_dir, work, rounds, runs, threads):
    model_path = work / "mobilenet_v3_small.onnx"
    shape_path = work / "shape_only.onnx"
    input_path = work / "mobilenet_v3_small.input.bin"
    dims = [1, 3, 224, 224]
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v3_small().eval()
    example = torch.randn(dims)
    with torch.no_grad():
        torch.onnx.export(model, example, str(model_path), opset_version=14, input_names=["input"],
                          output_names=["output"])
    shape_only_model(shape_path)
    input_path.write_bytes(example.numpy().astype("<f4").tobytes())
    print(f"\n(2) batch 1 (a {example.numel() * 4}-byte input), {threads} intra-op threads, median of {runs} runs "
          f"per round, {rounds} rounds")
    print("| model | caller | median ms | per round ms |")
    print("|---|---|---|---|")
    for name, path in (("mobilenet_v3_small", model_path), ("Shape only", shape_path)):
        bridge, direct = bridge_and_direct_ms(bin_dir, path, input_path, dims, rounds, runs, threads)
        bridge_ms, direct_ms = statistics.median(bridge), statistics.median(direct)
        print(f"| {name} | OnnxRuntimeNode::run (bridge) | {bridge_ms:.3f} | {', '.join(f'{t:.3f}' for t in bridge)} |")
        print(f"| {name} | session.run in Node | {direct_ms:.3f} | {', '.join(f'{t:.3f}' for t in direct)} |")
        print(f"{name}: bridge overhead per batch = {bridge_ms - direct_ms:.3f} ms ({bridge_ms / direct_ms:.2f}x)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build_dir", type=pathlib.Path, default=ROOT / "build")
    parser.add_argument("--work_dir", type=pathlib.Path, help="kept between runs (default: a fresh temp dir)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=200, help="timed runs per round in (2)")
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime intra-op threads in (2)")
    args = parser.parse_args()
    bin_dir = args.build_dir.resolve() / "bin"
    with tempfile.TemporaryDirectory(prefix="mltk-ort-bridge-") as temp:
        work = (args.work_dir or pathlib.Path(temp)).resolve()
        work.mkdir(parents=True, exist_ok=True)
        validation_example(bin_dir, work, args.rounds)
        mobilenet_overhead(bin_dir, work, args.rounds, args.runs, args.threads)


if __name__ == "__main__":
    main()
