#!/usr/bin/python3
"""Batch-1 224x224 eval forward latency: our LibTorch zoo against Python PyTorch eager (torchvision),
same machine, same run, same thread count. Prints a markdown table with the ratios ours / Python of
the median passes and of the fastest passes (the latter least disturbed by a busy host).

    /usr/bin/python3 bench/zoo_latency.py [--threads 2] [--runs 5] [--rounds 8] [ARCH ...]

Each side's figure is the median of ROUNDS x RUNS forward passes after 3 warm-up passes, on
1000-class models, with the same weights and input: torchvision's model (seed 0) is saved with
torch.save and our binary loads that state dict, since random weights of each side's own can make
the two differ in speed for reasons of value alone (denormal activations). The two sides run in
alternating bursts of RUNS passes, so that drift in the machine's speed (a shared host) hits both
alike.

Matrix products (Linear layers, attention) run on OpenBLAS on both sides; the last line names the
kernel set each side's OpenBLAS runs. Our programs choose it from the CPU's instruction sets where
OpenBLAS does not recognise the CPU (mltk/common/openblas_kernel.h); Python keeps OpenBLAS's own
choice unless OPENBLAS_CORETYPE is set, which this script passes on to both sides (set it to compare
the two on the same kernels).
Run after scripts/setup.sh (needs build/bin/mltk_zoo_latency).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import torch
import torchvision

from openblas_kernels import loaded_openblas_kernels

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "efficientnet_b0", "efficientnet_b1",
        "efficientnet_b2", "efficientnet_b3", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "vgg11",
        "vgg13", "vgg16", "vgg19", "densenet121", "densenet161", "densenet169", "densenet201", "vit_b_16",
        "vit_b_32", "vit_l_16", "convnext_tiny", "convnext_small", "convnext_base"]


OPENBLAS_KERNELS = {}


def python_times(model, x, runs):
    times = []
    with torch.no_grad():
        for _ in range(runs):
            start = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - start) * 1000)
    return times


def interleaved_medians(arch, model, x, weights, inputs, threads, runs, rounds):
    """Median ms of each side over ROUNDS alternating bursts of RUNS passes, after 3 warm-up passes."""
    binary = os.path.join(os.environ.get("MLTK_BUILD_DIR", os.path.join(ROOT, "build")), "bin", "mltk_zoo_latency")
    ours = subprocess.Popen([binary, str(threads), "stdin", "%s:%s:%s" % (arch, weights, inputs)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        ready = ours.stdout.readline().split()
        if not ready or ready[0] != "ready":
            raise RuntimeError("mltk_zoo_latency did not start for " + arch)
        OPENBLAS_KERNELS["ours"] = ready[1] if len(ready) > 1 else "not OpenBLAS"
        python_times(model, x, 3)
        ours_ms, python_ms = [], []
        for _ in range(rounds):
            ours.stdin.write("%d\n" % runs)
            ours.stdin.flush()
            ours_ms += json.loads(ours.stdout.readline())
            python_ms += python_times(model, x, runs)
    finally:
        ours.stdin.close()
        ours.wait()
    return (statistics.median(ours_ms), min(ours_ms)), (statistics.median(python_ms), min(python_ms))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5, help="passes per burst")
    parser.add_argument("--rounds", type=int, default=8, help="bursts of each side, alternating")
    parser.add_argument("architectures", nargs="*", default=BASE)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print("| architecture | ours median (ms) | Python median (ms) | ours / Python, medians | ours / Python, fastest passes |")
    print("|---|---|---|---|---|")
    slower = []
    work = tempfile.mkdtemp(prefix="zoo_latency_")
    for arch in args.architectures:
        torch.manual_seed(0)
        model = getattr(torchvision.models, arch)(num_classes=1000).eval()
        x = torch.randn(1, 3, 224, 224)
        weights = os.path.join(work, arch + ".pt")
        inputs = os.path.join(work, "input.pt")
        torch.save(model.state_dict(), weights)
        torch.save({"input": x}, inputs)
        ours, python = interleaved_medians(arch, model, x, weights, inputs, args.threads, args.runs, args.rounds)
        os.remove(weights)
        ratio, fastest_ratio = ours[0] / python[0], ours[1] / python[1]
        if ratio > 1.0:
            slower.append(arch)
        print("| %s | %.1f | %.1f | %.2f | %.2f |" % (arch, ours[0], python[0], ratio, fastest_ratio), flush=True)
    shutil.rmtree(work)
    print("\nOpenBLAS kernels (matrix products): ours %s, Python %s" %
          (OPENBLAS_KERNELS.get("ours", "?"), loaded_openblas_kernels()))
    print("\nslower than Python (medians): %s" % (", ".join(slower) if slower else "none"))


if __name__ == "__main__":
    sys.exit(main())
