#!/usr/bin/env python3
"""Data-parallel training on one machine, and what it would give on several.

Trains resnet18 (224x224, from scratch, SGD with momentum) on fold 0's training part of the
hymenoptera `train/` folder for two epochs, twice, with the same global batch of 16:

  - 1 process x 2 threads, batch 16 (plain ml-train);
  - 2 processes x 1 thread, batch 8 each (ml-train under torchrun --nproc_per_node 2).

and reports the second epoch's training images per second of each (the first includes warm-up),
and the share of the data-parallel training time spent waiting for gradient all-reduces that the
backward pass did not hide (from ml-train's log).

It then times c10d's Gloo all-reduce of resnet18's gradient size (11.7 M float32 values) between two
processes on this machine, and projects images per second for N machines, each running one process
of batch 16 at the measured single-process speed. A ring all-reduce sends and receives
2 (N - 1) / N times the gradient size per process, so its time is taken as that volume over the link
bandwidth: the bandwidth measured here on loopback, and 10 and 1 Gbit/s Ethernet. The projection
assumes no overlap of communication with the backward pass, so it is a lower bound on speed.

    /usr/bin/python3 bench/distributed_benchmark.py [--build_dir build] [--data DIR]
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from data_paths import hymenoptera_dir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESNET18_PARAMETERS = 11_177_538  # resnet18 with a two-class head: the values every step all-reduces

CONFIG = """data:
  dataset_name: hymenoptera
  data_dir: {data_dir}
  num_folds: 2
  num_workers: 1
model:
  type: base
  architecture: resnet18
  input_size: 224
training:
  num_epochs: 2
  batch_size: 16
  seed: 42
optimizer:
  name: sgd
  lr: 0.001
  momentum: 0.9
scheduler:
  name: none
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(argv, env=None):
    result = subprocess.run(argv, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(argv), (result.stdout + result.stderr)[-4000:]))
    return result.stdout + result.stderr


def torchrun(processes, program_args):
    # --redirects/--tee 1: Debian's torchrun 1.13 under Python 3.11 cannot parse their default "0".
    return [sys.executable, "-m", "torch.distributed.run", "--redirects", "1", "--tee", "1",
            "--nproc_per_node", str(processes), "--master_addr",
            "127.0.0.1", "--master_port", str(free_port())] + program_args


def second_epoch_rate(runs):
    with open(os.path.join(runs, "hymenoptera_base_fold_0", "metrics.json")) as f:
        return json.load(f)[-1]["images_per_second"]


def allreduce_worker(values, repeats):
    """Under torchrun: times the all-reduce of `values` float32 values; rank 0 prints seconds per call."""
    import torch
    import torch.distributed as dist
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    tensor = torch.ones(values)
    for _ in range(2):
        dist.all_reduce(tensor)
    dist.barrier()
    start = time.perf_counter()
    for _ in range(repeats):
        dist.all_reduce(tensor)
    seconds = (time.perf_counter() - start) / repeats
    if dist.get_rank() == 0:
        print(json.dumps({"seconds": seconds}))
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build_dir", default=os.path.join(ROOT, "build"))
    parser.add_argument("--data", default=hymenoptera_dir())
    parser.add_argument("--machines", default="1,2,4,8,16")
    parser.add_argument("--allreduce_worker", nargs=2, type=int, metavar=("VALUES", "REPEATS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.allreduce_worker:
        return allreduce_worker(*args.allreduce_worker)

    ml_train = os.path.join(args.build_dir, "bin", "ml-train")
    with tempfile.TemporaryDirectory(prefix="mltk-distributed-bench") as work:
        raw = os.path.join(work, "data", "hymenoptera", "raw")
        os.makedirs(os.path.dirname(raw))
        for part in ("train", "val"):
            shutil.copytree(os.path.join(args.data, part), os.path.join(raw, part))
        run([os.path.join(args.build_dir, "bin", "ml-split"), "--raw_data", raw, "--folds", "2", "--keep_given_split"])
        config = os.path.join(work, "bench.yaml")
        with open(config, "w") as f:
            f.write(CONFIG.format(data_dir=os.path.join(work, "data")))

        single_runs = os.path.join(work, "runs_single")
        run([ml_train, "--config", config, "--runs_dir", single_runs, "--threads", "2"])
        single_rate = second_epoch_rate(single_runs)

        parallel_runs = os.path.join(work, "runs_parallel")
        log = run(torchrun(2, ["--no_python", ml_train, "--config", config, "--runs_dir", parallel_runs,
                               "--batch_size", "8", "--threads", "1"]))
        parallel_rate = second_epoch_rate(parallel_runs)
        waits = re.findall(r"Gradient all-reduce: ([0-9.]+) ms per step not hidden by the backward pass, "
                           r"([0-9.]+)% of the training time", log)
        if len(waits) < 2:
            sys.exit("no all-reduce figures in ml-train's log:\n" + log[-4000:])
        wait_ms, wait_share = (float(v) for v in waits[-1])

    out = run(torchrun(2, [os.path.abspath(__file__), "--allreduce_worker", str(RESNET18_PARAMETERS), "10"]))
    # torchrun --tee prefixes each line of the processes' stdout with "[<role><local rank>]:".
    allreduce_seconds = json.loads(re.search(r'\{"seconds".*\}', out).group(0))["seconds"]
    gradient_bytes = RESNET18_PARAMETERS * 4
    # Two processes exchange 2 (2 - 1) / 2 = 1 gradient size each in a ring all-reduce.
    loopback_bytes_per_second = gradient_bytes / allreduce_seconds

    print("## Measured on this machine (global batch 16, second epoch)\n")
    print("| processes x threads | batch per process | train images/s |")
    print("|---|---:|---:|")
    print("| 1 x 2 | 16 | %.1f |" % single_rate)
    print("| 2 x 1 | 8 | %.1f |" % parallel_rate)
    print("\nratio 2 x 1 / 1 x 2: %.2fx" % (parallel_rate / single_rate))
    print("gradient all-reduce not hidden by backward (2 x 1): %.1f ms per step, %.1f%% of the training time"
          % (wait_ms, wait_share))
    print("Gloo all-reduce of resnet18's gradients (%.1f MB) between 2 processes: %.1f ms (%.2f GB/s effective)"
          % (gradient_bytes / 1e6, allreduce_seconds * 1e3, loopback_bytes_per_second / 1e9))

    step_seconds = 16 / single_rate
    links = [("measured loopback", loopback_bytes_per_second), ("10 Gbit/s", 10e9 / 8), ("1 Gbit/s", 1e9 / 8)]
    print("\n## Projection: N machines, one process of batch 16 each (compute %.2f s per step)\n" % step_seconds)
    print("| machines | " + " | ".join("images/s (%s)" % name for name, _ in links) + " |")
    print("|---:|" + "---:|" * len(links))
    for machines in (int(n) for n in args.machines.split(",")):
        cells = []
        for _, bandwidth in links:
            exchange = 2 * (machines - 1) / machines * gradient_bytes / bandwidth
            cells.append("%.1f" % (machines * 16 / (step_seconds + exchange)))
        print("| %d | %s |" % (machines, " | ".join(cells)))


if __name__ == "__main__":
    main()
