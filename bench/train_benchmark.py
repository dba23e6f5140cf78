#!/usr/bin/env python3
"""Training throughput: ml-train against Python PyTorch, same recipe, same images, same machine.

Recipe: resnet18 from scratch, batch 32, RandomResizedCrop(224) + horizontal flip + normalisation,
2 loader workers, SGD momentum 0.9, one epoch over the hymenoptera images of fold 0's training
split. Reports training images per second (the training pass of the epoch, without validation)
and the peak resident memory of each process, as a markdown table.

    python3 bench/train_benchmark.py [--build_dir build] [--data DIR]

Run it with /usr/bin/python3 (Debian's torch 1.13.1 and torchvision 0.14.1, as LibTorch 1.13.1).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from data_paths import hymenoptera_dir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CONFIG = """data:
  dataset_name: hymenoptera
  data_dir: {data_dir}
  num_folds: 2
  num_workers: 2
model:
  type: base
  architecture: resnet18
  input_size: 224
training:
  num_epochs: 1
  batch_size: 32
  seed: 42
optimizer:
  name: sgd
  lr: 0.001
  momentum: 0.9
scheduler:
  name: none
"""


def run_measured(argv):
    """Runs argv; returns (stdout, stderr, peak RSS in MiB of the process and its waited children)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("failed: %s\n%s" % (" ".join(argv), stderr[-4000:]))
    return stdout, stderr, usage.ru_maxrss / 1024.0


def python_worker(index_file, raw_dir):
    """The PyTorch side: trains one epoch and prints {"images", "seconds"} as JSON."""
    import torch
    import torchvision
    from PIL import Image
    from torchvision import transforms

    class_names = sorted(os.listdir(os.path.join(raw_dir, "train")))
    with open(index_file) as f:
        paths = [line.strip() for line in f if line.strip()]
    samples = [(os.path.join(raw_dir, p), class_names.index(p.split("/")[-2])) for p in paths]

    transform = transforms.Compose([
        transforms.RandomResizedCrop(224), transforms.RandomHorizontalFlip(), transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])

    class Files(torch.utils.data.Dataset):
        def __len__(self):
            return len(samples)

        def __getitem__(self, i):
            path, label = samples[i]
            return transform(Image.open(path).convert("RGB")), label

    torch.manual_seed(42)
    loader = torch.utils.data.DataLoader(Files(), batch_size=32, shuffle=True, num_workers=2, drop_last=True)
    model = torchvision.models.resnet18(num_classes=len(class_names))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
    criterion = torch.nn.CrossEntropyLoss()
    model.train()
    images, start = 0, time.perf_counter()
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        images += x.shape[0]
    print(json.dumps({"images": images, "seconds": time.perf_counter() - start}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build_dir", default=os.path.join(ROOT, "build"))
    parser.add_argument("--data", default=hymenoptera_dir())
    parser.add_argument("--python_worker", nargs=2, metavar=("INDEX", "RAW"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.python_worker:
        return python_worker(*args.python_worker)

    bin_dir = os.path.join(args.build_dir, "bin")
    with tempfile.TemporaryDirectory(prefix="mltk-train-bench") as work:
        raw = os.path.join(work, "data", "hymenoptera", "raw")
        os.makedirs(os.path.dirname(raw))
        for part in ("train", "val"):
            shutil.copytree(os.path.join(args.data, part), os.path.join(raw, part))
        # val/ becomes the test set; train/ is folded, and both sides train on fold 0's part.
        run_measured([os.path.join(bin_dir, "ml-split"), "--raw_data", raw, "--folds", "2", "--keep_given_split"])
        index = os.path.join(work, "data", "hymenoptera", "splits", "fold_0_train.txt")
        config = os.path.join(work, "bench.yaml")
        with open(config, "w") as f:
            f.write(CONFIG.format(data_dir=os.path.join(work, "data")))

        _, _, ours_rss = run_measured([os.path.join(bin_dir, "ml-train"), "--config", config,
                                       "--runs_dir", os.path.join(work, "runs")])
        with open(os.path.join(work, "runs", "hymenoptera_base_fold_0", "metrics.json")) as f:
            ours_rate = json.load(f)[0]["images_per_second"]

        out, _, python_rss = run_measured([sys.executable, os.path.abspath(__file__), "--python_worker", index, raw])
        result = json.loads(out.strip().splitlines()[-1])
        python_rate = result["images"] / result["seconds"]

    print("| implementation | train images/s | peak RSS (MiB) |")
    print("|---|---:|---:|")
    print("| mltk ml-train (LibTorch 1.13.1) | %.1f | %.0f |" % (ours_rate, ours_rss))
    print("| Python PyTorch 1.13.1 | %.1f | %.0f |" % (python_rate, python_rss))
    print("\nratio ml-train / PyTorch: %.2fx throughput" % (ours_rate / python_rate))


if __name__ == "__main__":
    main()
