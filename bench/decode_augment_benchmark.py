#!/usr/bin/python3
"""Decode + train-augmentation throughput (images/s): our DataLoader against torchvision's
ImageFolder + torch DataLoader, same images, same worker count, same run. Prints a markdown table.

    /usr/bin/python3 bench/decode_augment_benchmark.py [--train_dir DIR] [--workers 2] [--epochs 5]

Both sides apply RandomResizedCrop(224) + RandomHorizontalFlip + ToTensor + Normalize with batch
size 32, run one untimed warm-up epoch (workers started, files in the page cache), then time EPOCHS
epochs. Python keeps its workers alive between epochs (persistent_workers) so that process start-up
is not counted against it. Run after scripts/setup.sh (needs build/bin/mltk_decode_augment).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import torch
from torchvision import datasets, transforms

from data_paths import hymenoptera_dir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def python_throughput(train_dir, workers, epochs):
    transform = transforms.Compose([
        transforms.RandomResizedCrop(224),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    dataset = datasets.ImageFolder(train_dir, transform)
    loader = torch.utils.data.DataLoader(dataset, batch_size=32, shuffle=True, num_workers=workers,
                                         persistent_workers=workers > 0)
    for _ in loader:  # warm-up
        pass
    images = 0
    start = time.perf_counter()
    for _ in range(epochs):
        for batch, _labels in loader:
            images += batch.shape[0]
    return images, time.perf_counter() - start


def our_throughput(train_dir, workers, epochs):
    binary = os.path.join(os.environ.get("MLTK_BUILD_DIR", os.path.join(ROOT, "build")), "bin", "mltk_decode_augment")
    out = subprocess.run([binary, train_dir, str(workers), str(epochs)], check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["images"], result["seconds"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train_dir", default=os.path.join(hymenoptera_dir(), "train"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    ours_images, ours_seconds = our_throughput(args.train_dir, args.workers, args.epochs)
    py_images, py_seconds = python_throughput(args.train_dir, args.workers, args.epochs)
    ours, python = ours_images / ours_seconds, py_images / py_seconds
    print("| pipeline (%d workers, %d epochs) | images | seconds | img/s |" % (args.workers, args.epochs))
    print("|---|---|---|---|")
    print("| mltk DataLoader (libjpeg-turbo crop decode) | %d | %.2f | %.0f |" % (ours_images, ours_seconds, ours))
    print("| torchvision ImageFolder + DataLoader (PIL) | %d | %.2f | %.0f |" % (py_images, py_seconds, python))
    print("\nours / Python: %.2fx" % (ours / python))


if __name__ == "__main__":
    sys.exit(main())
