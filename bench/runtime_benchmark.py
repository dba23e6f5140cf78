#!/usr/bin/python3
"""`ml-export --benchmark` on torchvision architectures: each exported file in ONNX Runtime and the
reference evaluator against the checkpoint's model in LibTorch eager, all timed by the tool in one
run per model.

For each architecture a torchvision model (num_classes=2, seed 0) is saved as an mltk checkpoint,
then exported at 224x224 with a symbolic batch dimension and benchmarked at batch size 1 and
--batch_size. Prints a markdown table from the <stem>.benchmark.json reports. From the repository
root, after building ml-export:

    /usr/bin/python3 bench/runtime_benchmark.py [--build_dir build] [--batch_size 8] [--runs 20]
        [--threads N] [ARCH ...]
"""
import argparse
import json
import os
import pathlib
import subprocess
import tempfile

import torch
import torchvision

from export_benchmark import save_checkpoint

DEFAULT_ARCHITECTURES = ["resnet18", "mobilenet_v3_small", "efficientnet_b0"]


def benchmark(architecture, ml_export, work, batch_size, runs, threads):
    torch.manual_seed(0)
    checkpoint = work / f"{architecture}.pt"
    save_checkpoint(torchvision.models.__dict__[architecture](num_classes=2).eval(), architecture, checkpoint)
    argv = [str(ml_export), "--checkpoint_path", str(checkpoint), "--batch_size", str(batch_size), "--dynamic_axes",
            "--benchmark", "--benchmark_runs", str(runs)]
    if threads:
        argv += ["--threads", str(threads)]
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return json.loads((work / f"{architecture}.benchmark.json").read_text())


def print_table(architecture, report):
    print(f"\n{architecture}\n")
    print("| runtime | batch | load ms | median ms | p90 ms | images/s | peak MiB |")
    print("|---|---|---|---|---|---|---|")
    for runtime in report["runtimes"]:
        for batch in runtime["batches"]:
            memory = batch["peak_memory_bytes"]
            memory = "-" if memory is None else f"{memory / 2**20:.0f}"
            print(f"| {runtime['runtime']} | {batch['batch_size']} | {runtime['load_ms']:.0f} | "
                  f"{batch['median_ms']:.1f} | {batch['p90_ms']:.1f} | {batch['images_per_second']:.1f} | {memory} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("architectures", nargs="*", default=DEFAULT_ARCHITECTURES)
    parser.add_argument("--build_dir", default="build")
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=0, help="--threads for ml-export (default: every core)")
    args = parser.parse_args()
    ml_export = pathlib.Path(args.build_dir).resolve() / "bin" / "ml-export"
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="mltk-runtime-bench-") as folder:
        for architecture in args.architectures:
            print_table(architecture, benchmark(architecture, ml_export, pathlib.Path(folder), args.batch_size,
                                                args.runs, args.threads))
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
