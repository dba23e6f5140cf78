#!/usr/bin/python3
"""ml-inference on a split against a torchvision evaluation loop over the same index, in one run.

Both sides read every image of the index, decode it, resize its shorter side to the checkpoint's
eval resize, centre-crop it to the input size, normalise it and run the model in eval mode, in
batches of --batch_size, with --threads intra-op threads and --workers decoding workers.

- ours: the whole `ml-inference --checkpoint_path CKPT --split_file INDEX` process, from start to
  exit: LibTorch's start-up, reading the checkpoint and writing the report are inside the time; as
  it runs by default (the frozen, optimised graph, with chained unstrided 3x3 convolutions on
  oneDNN's Winograd kernels), with --direct_convolutions (the same graph on direct kernels only) and
  with --eager (module by module);
- Python: torchvision's model with the checkpoint's weights, a DataLoader over PIL decoding and
  torchvision's Resize, CenterCrop, ToTensor and Normalize; only the loop is timed (the imports,
  the model and its weights are ready before the clock starts), so the ratio favours Python.

Rounds alternate the two sides; the table gives each side's best round in images/s.

Usage (from the repository root, after scripts/setup.sh):
  /usr/bin/python3 bench/inference_benchmark.py [--work_dir DIR] [--architecture resnet18]
      [--checkpoint CKPT] [--split_file INDEX] [--rounds 3] [--threads 2] [--workers 2] [--batch_size 32]
Without --checkpoint the architecture is trained for one epoch on the hymenoptera photographs in the
work dir (kept for the next run); the index defaults to that fold's training split, its largest.
"""
import argparse
import json
import os
import pathlib
import subprocess
import tempfile
import time

from quantization_benchmark import prepare_data, train

ROOT = pathlib.Path(__file__).resolve().parent.parent


def ours(bin_dir, checkpoint, index, args, report, extra=()):
    start = time.perf_counter()
    subprocess.run([str(bin_dir / "ml-inference"), "--checkpoint_path", str(checkpoint), "--split_file", str(index),
                    "--batch_size", str(args.batch_size), "--num_workers", str(args.workers), "--threads",
                    str(args.threads), "--output", str(report), *extra], check=True, capture_output=True, text=True)
    return time.perf_counter() - start


def python_loop(checkpoint, index, args):
    """Seconds for the torchvision evaluation loop, and its accuracy."""
    import torch
    import torchvision
    from PIL import Image
    from torchvision import transforms

    torch.set_num_threads(args.threads)
    saved = torch.load(str(checkpoint), map_location="cpu")
    spec = saved["model"]
    model = getattr(torchvision.models, spec["architecture"])(num_classes=spec["num_classes"])
    model.load_state_dict(saved["model_state_dict"])
    model.eval()
    size = spec.get("input_size", 224)
    resize = spec.get("eval_resize", 256)
    normalization = saved["normalization"]
    transform = transforms.Compose([transforms.Resize(resize), transforms.CenterCrop(size), transforms.ToTensor(),
                                    transforms.Normalize(normalization["mean"], normalization["std"])])
    class_names = saved["class_names"]
    raw = pathlib.Path(index).parent.parent / "raw"
    samples = []
    for line in pathlib.Path(index).read_text().splitlines():
        if line.strip():
            samples.append((raw / line.strip(), class_names.index(line.strip().split("/")[-2])))

    class Index(torch.utils.data.Dataset):
        def __len__(self):
            return len(samples)

        def __getitem__(self, i):
            path, label = samples[i]
            with Image.open(path) as image:
                return transform(image.convert("RGB")), label

    loader = torch.utils.data.DataLoader(Index(), batch_size=args.batch_size, num_workers=args.workers)
    correct = 0
    start = time.perf_counter()
    with torch.no_grad():
        for images, labels in loader:
            correct += (model(images).argmax(1) == labels).sum().item()
    return time.perf_counter() - start, correct / len(samples), len(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build_dir", default=os.environ.get("MLTK_BUILD_DIR", ROOT / "build"))
    parser.add_argument("--work_dir")
    parser.add_argument("--architecture", default="resnet18")
    parser.add_argument("--checkpoint")
    parser.add_argument("--split_file")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch_size", type=int, default=32)
    args = parser.parse_args()

    bin_dir = pathlib.Path(args.build_dir) / "bin"
    work = pathlib.Path(args.work_dir or tempfile.mkdtemp(prefix="mltk-inference-bench-")).resolve()
    prepare_data(bin_dir, work)
    checkpoint = pathlib.Path(args.checkpoint) if args.checkpoint else train(bin_dir, work, args.architecture, 1, 224)
    index = pathlib.Path(args.split_file or work / "data" / "hymenoptera" / "splits" / "fold_0_train.txt")

    variants = {"ml-inference": [], "ml-inference --direct_convolutions": ["--direct_convolutions"],
                "ml-inference --eager": ["--eager"]}
    reports = {name: work / f"inference_report{''.join('_' + flag.strip('-') for flag in flags)}.json"
               for name, flags in variants.items()}
    seconds_of = {name: [] for name in variants}
    python_seconds = []
    for _ in range(args.rounds):
        for name, flags in variants.items():
            seconds_of[name].append(ours(bin_dir, checkpoint, index, args, reports[name], flags))
        seconds, accuracy, images = python_loop(checkpoint, index, args)
        python_seconds.append(seconds)
    load = os.getloadavg()[0]
    accuracies = {name: json.loads(report.read_text())["accuracy"] for name, report in reports.items()}
    python_rate = images / min(python_seconds)
    print(f"{images} images of {index}, batch {args.batch_size}, {args.threads} threads, {args.workers} workers, "
          f"best of {args.rounds} rounds, load average {load:.2f}; accuracy: "
          + ", ".join(f"{name} {value:.4f}" for name, value in accuracies.items()) + f", torchvision {accuracy:.4f}\n")
    print("| side | seconds (best) | images/s | / torchvision |\n|---|---|---|---|")
    for name in variants:
        rate = images / min(seconds_of[name])
        print(f"| {name}, whole process | {min(seconds_of[name]):.2f} | {rate:.1f} | {rate / python_rate:.2f}x |")
    print(f"| torchvision loop | {min(python_seconds):.2f} | {python_rate:.1f} | 1.00x |")
    print(f"\nml-inference / torchvision: {images / min(seconds_of['ml-inference']) / python_rate:.2f}x images/s "
          "(goal >= 1.5x)")

if __name__ == "__main__":
    main()
