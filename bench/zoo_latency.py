#!/usr/bin/python3
"""Batch-1 224x224 eval forward latency: our LibTorch zoo against Python PyTorch eager (torchvision),
same machine, same run, same thread count. Prints a markdown table with the ratio ours / Python.

    /usr/bin/python3 bench/zoo_latency.py [--threads 2] [--runs 20] [ARCH ...]

Both sides time the median of RUNS forward passes after 3 warm-up passes, on 1000-class models.
Run after scripts/setup.sh (needs build/bin/mltk_zoo_latency).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "efficientnet_b0", "efficientnet_b1",
        "efficientnet_b2", "efficientnet_b3", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "vgg11",
        "vgg13", "vgg16", "vgg19", "densenet121", "densenet161", "densenet169", "densenet201", "vit_b_16",
        "vit_b_32", "vit_l_16", "convnext_tiny", "convnext_small", "convnext_base"]


def python_latency(arch, runs):
    torch.manual_seed(0)
    model = getattr(torchvision.models, arch)(num_classes=1000).eval()
    x = torch.randn(1, 3, 224, 224)
    times = []
    with torch.no_grad():
        for _ in range(3):
            model(x)
        for _ in range(runs):
            start = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def our_latency(arch, threads, runs):
    binary = os.path.join(os.environ.get("MLTK_BUILD_DIR", os.path.join(ROOT, "build")), "bin", "mltk_zoo_latency")
    out = subprocess.run([binary, str(threads), str(runs), arch], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["median_ms"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("architectures", nargs="*", default=BASE)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print("| architecture | ours (ms) | Python PyTorch eager (ms) | ours / Python |")
    print("|---|---|---|---|")
    slower = []
    for arch in args.architectures:
        ours = our_latency(arch, args.threads, args.runs)
        python = python_latency(arch, args.runs)
        ratio = ours / python
        if ratio > 1.0:
            slower.append(arch)
        print("| %s | %.1f | %.1f | %.2f |" % (arch, ours, python, ratio), flush=True)
    print("\nslower than Python: %s" % (", ".join(slower) if slower else "none"))


if __name__ == "__main__":
    sys.exit(main())
