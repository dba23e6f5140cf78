#!/usr/bin/python3
"""Speed of a Linear layer's matrix product under each of OpenBLAS's x86-64 kernel sets, and which set
OpenBLAS picks by itself on this machine.

Each kernel set runs in a python3 process of its own with OPENBLAS_CORETYPE set (OpenBLAS reads it
when it loads), timing torch.mm of ROWS x 768 by 768 x 3072 in float32 (ViT-B/16's first MLP
layer at batch 1) with --threads threads. A set the CPU lacks the instructions for is skipped. Our
programs choose their set from the CPU's instruction sets where OpenBLAS's own pick differs
(mltk/common/openblas_kernel.h); this prints the figures behind that choice.

    /usr/bin/python3 bench/openblas_kernels.py [--threads 2] [--rows 197] [--runs 20]
"""
import argparse
import ctypes
import os
import subprocess
import sys

WORKER = r"""
import sys, time, torch
sys.path.insert(0, sys.argv[4])
from openblas_kernels import loaded_openblas_kernels
torch.set_num_threads(int(sys.argv[1]))
rows, runs = int(sys.argv[2]), int(sys.argv[3])
a, b = torch.randn(rows, 768), torch.randn(768, 3072)
for _ in range(3):
    a @ b
best = float("inf")
for _ in range(runs):
    start = time.perf_counter()
    a @ b
    best = min(best, time.perf_counter() - start)
print(loaded_openblas_kernels(), 2 * rows * 768 * 3072 / best / 1e9)
"""

# Newest first, with the CPU flags each needs as /proc/cpuinfo names them (SSE3 is "pni").
KERNEL_SETS = [("Cooperlake", ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd", "avx512_bf16"]),
               ("SkylakeX", ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"]),
               ("Haswell", ["avx2", "fma"]), ("Sandybridge", ["avx"]), ("Prescott", ["pni"])]


def loaded_openblas_kernels():
    """The kernel set of the OpenBLAS this process has loaded (its openblas_get_corename()), or
    "not OpenBLAS"."""
    try:
        blas = ctypes.CDLL("libopenblas.so.0", mode=os.RTLD_NOLOAD)
    except OSError:
        return "not OpenBLAS"
    blas.openblas_get_corename.restype = ctypes.c_char_p
    return blas.openblas_get_corename().decode()


def cpu_flags():
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def run(coretype, args):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    out = subprocess.run([sys.executable, "-c", WORKER, str(args.threads), str(args.rows), str(args.runs),
                          os.path.dirname(os.path.abspath(__file__))], env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    return out[0], float(out[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rows", type=int, default=197)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    flags = cpu_flags()
    own, own_rate = run(None, args)
    print(f"{args.rows}x768 by 768x3072 float32, {args.threads} threads, best of {args.runs}\n")
    print("| OpenBLAS kernel set | GFLOP/s |\n|---|---|")
    print(f"| OpenBLAS's own choice ({own}) | {own_rate:.1f} |")
    for coretype, needs in KERNEL_SETS:
        if not flags.issuperset(needs):
            print(f"| {coretype} | (CPU lacks {', '.join(sorted(set(needs) - flags))}) |")
            continue
        name, rate = run(coretype, args)
        print(f"| {coretype}{'' if name.lower() == coretype.lower() else ' (OpenBLAS ran ' + name + ')'} | {rate:.1f} |")


if __name__ == "__main__":
    main()
