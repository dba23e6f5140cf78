#!/usr/bin/python3
"""Checkpoint to .onnx as a whole process: `ml-export --no-validate` against a python3 process that
loads the same checkpoint into torchvision's model and calls torch.onnx.export, in one run.

For each architecture a torchvision model (num_classes=2, seed 0) is saved as an mltk checkpoint.
Both processes are timed from start to exit, interleaved round by round, best of ROUNDS; Python's
includes its interpreter start-up and imports, ours LibTorch's start-up and the fsync of the file.
Both use opset 14, static batch 1 and the machine's cores. A last run of build/bin/mltk_export_bench
gives our time per phase.

The same rounds also time the start-up of a process linking LibTorch (`ml-export --help`, which
returns before doing any work): what is left of a goal of `python3 ms / 5` after it is what reading,
tracing and writing may take. Prints markdown tables. From the repository root, after building
ml-export and mltk_export_bench:

    /usr/bin/python3 bench/export_process_benchmark.py [--build_dir build] [--rounds 3] [ARCH ...]
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import torch
import torchvision

from export_benchmark import OPSET, export_with_torch, save_checkpoint

DEFAULT_ARCHITECTURES = ["resnet18", "resnet50", "vgg16", "vit_b_16", "convnext_tiny"]


def python_worker(architecture, checkpoint, output):
    """The Python side, as a user would write it: load, build, export."""
    state = torch.load(checkpoint)
    model = torchvision.models.__dict__[architecture](num_classes=state["model"]["num_classes"])
    model.load_state_dict(state["model_state_dict"])
    export_with_torch(model.eval(), architecture, output)


def timed_ms(argv):
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return (time.perf_counter() - start) * 1000


def benchmark(architecture, bin_dir, work, rounds):
    torch.manual_seed(0)
    checkpoint = work / f"{architecture}.pt"
    save_checkpoint(torchvision.models.__dict__[architecture](num_classes=2).eval(), architecture, checkpoint)
    ours, theirs, start_up = [], [], []
    for _ in range(rounds):
        ours.append(timed_ms([str(bin_dir / "ml-export"), "--checkpoint_path", str(checkpoint), "--output_path",
                              str(work / "ours.onnx"), "--opset_version", str(OPSET), "--no-validate"]))
        theirs.append(timed_ms([sys.executable, os.path.abspath(__file__), "--python_worker", architecture,
                                str(checkpoint), str(work / "theirs.onnx")]))
        start_up.append(timed_ms([str(bin_dir / "ml-export"), "--help"]))
    phases = subprocess.run([str(bin_dir / "mltk_export_bench"), str(checkpoint), str(work / "ours.onnx"), str(OPSET)],
                            check=True, capture_output=True, text=True)
    return {"architecture": architecture, "ours_ms": min(ours), "python_ms": min(theirs), "start_up_ms": min(start_up),
            "phases": json.loads(phases.stdout)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("architectures", nargs="*", default=DEFAULT_ARCHITECTURES)
    parser.add_argument("--build_dir", type=pathlib.Path, default=pathlib.Path(__file__).resolve().parent.parent / "build")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--python_worker", nargs=3, metavar=("ARCH", "CHECKPOINT", "OUTPUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.python_worker:
        return python_worker(*args.python_worker)
    rows = []
    with tempfile.TemporaryDirectory(prefix="mltk-export-process-") as tmp:
        for architecture in args.architectures:
            rows.append(benchmark(architecture, args.build_dir.resolve() / "bin", pathlib.Path(tmp), args.rounds))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
            for stale in pathlib.Path(tmp).iterdir():
                stale.unlink()
    print("| model | ml-export process ms | python3 process ms | speed-up |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['architecture']} | {r['ours_ms']:.0f} | {r['python_ms']:.0f} | {r['python_ms'] / r['ours_ms']:.2f}x |")
    print("\nStart-up, best of the same rounds, and what the 5x goal leaves after it:\n")
    print("| model | 5x budget ms | start-up ms | budget after start-up ms | ours after start-up ms |")
    print("|---|---|---|---|---|")
    for r in rows:
        budget = r["python_ms"] / 5
        print(f"| {r['architecture']} | {budget:.0f} | {r['start_up_ms']:.0f} | {budget - r['start_up_ms']:.0f} "
              f"| {r['ours_ms'] - r['start_up_ms']:.0f} |")
    print("\nmltk_export_bench phases, ms (one run):\n")
    print("| model | " + " | ".join(f"{name}" for name in phase_names(rows)) + " |")
    print("|---|" + "---|" * len(phase_names(rows)))
    for r in rows:
        values = {**r["phases"]["load_phases"], **r["phases"]["export_phases"]}
        print(f"| {r['architecture']} | " + " | ".join(f"{values.get(name, 0):.0f}" for name in phase_names(rows)) + " |")


def phase_names(rows):
    names = []
    for r in rows:
        for name in list(r["phases"]["load_phases"]) + list(r["phases"]["export_phases"]):
            if name not in names:
                names.append(name)
    return names


if __name__ == "__main__":
    sys.exit(main())
