"""mltk's ONNX exporter against torch.onnx.export, on the same weights, in one run.

For each architecture a torchvision model (num_classes=2, seeded) is saved as an mltk checkpoint;
build/bin/mltk_export_bench loads it and exports it, torch.onnx.export exports the Python module
(opset 14, eval, no_grad except for the ViTs (see export_with_torch), static batch 1 on both sides). Measured:
  (a) export wall time: mltk's export_to_onnx alone and its whole process, vs torch.onnx.export;
  (b) node count of both graphs;
  (c) ONNX Runtime latency of both files, batch 1, 2 intra-op threads (tools/ort/run_model.js),
      alternating between the two files so that load from other processes hits both alike.
Prints a markdown table. Usage (from the repository root, after building mltk_export_bench):
  /usr/bin/python3 bench/export_benchmark.py [--build-dir build] [--runs 30] [--rounds 3] [ARCH ...]
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import time

import torch
import torchvision

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_ARCHITECTURES = ["resnet18", "efficientnet_b0", "mobilenet_v3_small", "convnext_tiny", "vit_b_16", "vgg16"]
OPSET = 14
IMAGE_SIZE = 224


def save_checkpoint(model, architecture, path):
    """The plain-dict checkpoint mltk::checkpoint::load_checkpoint reads."""
    torch.save({
        "model_state_dict": model.state_dict(),
        "model": {"type": "base", "architecture": architecture, "num_classes": 2, "input_size": IMAGE_SIZE},
        "class_names": ["class_0", "class_1"],
        "normalization": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
        "epoch": 0,
        "config": "",
    }, path)


def export_with_torch(model, architecture, path):
    """Exports under no_grad, except the ViTs: without autograd, torch 1.13's nn.MultiheadAttention
    takes its fused aten::_native_multi_head_attention path, which torch.onnx cannot export."""
    example = torch.randn(1, 3, IMAGE_SIZE, IMAGE_SIZE)
    start = time.perf_counter()
    with torch.set_grad_enabled(architecture.startswith("vit")):
        torch.onnx.export(model, example, str(path), opset_version=OPSET, input_names=["input"],
                          output_names=["output"])
    return (time.perf_counter() - start) * 1000


def export_with_mltk(build_dir, checkpoint, path):
    """Returns (export_to_onnx ms, whole process ms)."""
    start = time.perf_counter()
    result = subprocess.run([str(build_dir / "bin" / "mltk_export_bench"), str(checkpoint), str(path), str(OPSET)],
                            capture_output=True, text=True, check=True)
    process_ms = (time.perf_counter() - start) * 1000
    return json.loads(result.stdout)["export_ms"], process_ms


def onnxruntime_median_ms(model_path, input_file, runs):
    request = model_path.with_suffix(".request.json")
    request.write_text(json.dumps({
        "model": str(model_path),
        "inputs": [{"dims": [1, 3, IMAGE_SIZE, IMAGE_SIZE], "dtype": "float32", "file": str(input_file)}],
        "threads": 2,
    }))
    result = subprocess.run(["node", str(ROOT / "tools" / "ort" / "run_model.js"), str(request), "--benchmark",
                             str(runs)], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)["median_ms"]


def benchmark(architecture, build_dir, work, runs, rounds):
    import onnx  # here, so that bench/export_process_benchmark.py's Python side does not pay for it
    torch.manual_seed(0)
    model = torchvision.models.__dict__[architecture](num_classes=2).eval()
    checkpoint = work / f"{architecture}.pt"
    save_checkpoint(model, architecture, checkpoint)
    ours, theirs = work / f"{architecture}_mltk.onnx", work / f"{architecture}_torch.onnx"

    # Best of `rounds`, alternating the two exporters.
    export_ms, process_ms, torch_ms = [], [], []
    for _ in range(rounds):
        export, process = export_with_mltk(build_dir, checkpoint, ours)
        export_ms.append(export)
        process_ms.append(process)
        torch_ms.append(export_with_torch(model, architecture, theirs))

    input_file = work / "input.bin"
    torch.randn(1, 3, IMAGE_SIZE, IMAGE_SIZE).numpy().tofile(input_file)
    ours_ort, theirs_ort = [], []
    for _ in range(rounds):
        ours_ort.append(onnxruntime_median_ms(ours, input_file, runs))
        theirs_ort.append(onnxruntime_median_ms(theirs, input_file, runs))

    return {
        "architecture": architecture,
        "export_ms": min(export_ms), "process_ms": min(process_ms), "torch_ms": min(torch_ms),
        "nodes": len(onnx.load(str(ours)).graph.node), "torch_nodes": len(onnx.load(str(theirs)).graph.node),
        "ort_ms": min(ours_ort), "torch_ort_ms": min(theirs_ort),
    }


def print_table(rows):
    print("| model | mltk export ms (process) | torch.onnx ms | export speed-up | nodes mltk / torch "
          "| ORT ms mltk / torch | ORT ratio |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['architecture']} | {r['export_ms']:.0f} ({r['process_ms']:.0f}) | {r['torch_ms']:.0f} "
              f"| {r['torch_ms'] / r['export_ms']:.2f}x ({r['torch_ms'] / r['process_ms']:.2f}x) "
              f"| {r['nodes']} / {r['torch_nodes']} | {r['ort_ms']:.2f} / {r['torch_ort_ms']:.2f} "
              f"| {r['ort_ms'] / r['torch_ort_ms']:.2f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("architectures", nargs="*", default=DEFAULT_ARCHITECTURES)
    parser.add_argument("--build-dir", type=pathlib.Path, default=ROOT / "build")
    parser.add_argument("--runs", type=int, default=30, help="ONNX Runtime runs per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per file; the best is kept")
    args = parser.parse_args()
    torch.set_num_threads(2)
    rows = []
    with tempfile.TemporaryDirectory(prefix="mltk-export-bench-") as tmp:
        for architecture in args.architectures:
            rows.append(benchmark(architecture, args.build_dir.resolve(), pathlib.Path(tmp), args.runs, args.rounds))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
            for stale in pathlib.Path(tmp).glob(f"{architecture}*"):
                stale.unlink()
    print_table(rows)


if __name__ == "__main__":
    main()
