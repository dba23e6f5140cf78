#!/usr/bin/python3
"""Accuracy of the spec's hymenoptera recipe: ml-train against Python PyTorch, same splits, same recipe.

Runs the documented workflow as written, in WORK_DIR (kept, so that ml-inference and ml-export can be
run on its result afterwards):

    ml-split --raw_data data/hymenoptera/raw --folds 5
    ml-train --config configs/hymenoptera_config.yaml --fold 0

then trains torchvision's resnet18 with the same recipe in Python (Debian's torch 1.13.1 and
torchvision 0.14.1) on the same split files: from scratch, 25 epochs, batch 32, SGD lr 0.001
momentum 0.9, StepLR(7, 0.1), RandomResizedCrop(224) + horizontal flip for training, Resize(256) +
CenterCrop(224) for evaluation, the best epoch chosen by validation accuracy and evaluated once on
the test split. Prints a markdown table.

    /usr/bin/python3 bench/accuracy_benchmark.py --work_dir /tmp/hymenoptera-run [--epochs 25] [--parallel]

--parallel trains both at the same time (about half the total time on a busy machine); their wall
times then only show how the two shared the machine.
"""
import concurrent.futures
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

from data_paths import hymenoptera_dir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def python_training(work_dir, epochs):
    """Returns (best val accuracy, its epoch, test accuracy, seconds) for the Python side."""
    import torch
    import torchvision
    from PIL import Image
    from torchvision import transforms

    raw = os.path.join(work_dir, "data", "hymenoptera", "raw")
    splits = os.path.join(work_dir, "data", "hymenoptera", "splits")
    class_names = ["ants", "bees"]
    normalize = transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    train_transform = transforms.Compose([transforms.RandomResizedCrop(224), transforms.RandomHorizontalFlip(),
                                          transforms.ToTensor(), normalize])
    eval_transform = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                                         normalize])

    class Split(torch.utils.data.Dataset):
        def __init__(self, name, transform):
            self.samples = []
            with open(os.path.join(splits, name)) as f:
                for line in f:
                    path = line.strip()
                    if path:
                        self.samples.append((os.path.join(raw, path), class_names.index(path.split("/")[-2])))
            self.transform = transform

        def __len__(self):
            return len(self.samples)

        def __getitem__(self, i):
            path, label = self.samples[i]
            return self.transform(Image.open(path).convert("RGB")), label

    torch.manual_seed(42)
    train = torch.utils.data.DataLoader(Split("fold_0_train.txt", train_transform), batch_size=32, shuffle=True,
                                        num_workers=2, drop_last=True, persistent_workers=True)
    val = torch.utils.data.DataLoader(Split("fold_0_val.txt", eval_transform), batch_size=32, num_workers=2)
    test = torch.utils.data.DataLoader(Split("test.txt", eval_transform), batch_size=32, num_workers=2)
    model = torchvision.models.resnet18(num_classes=2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=7, gamma=0.1)
    criterion = torch.nn.CrossEntropyLoss()

    def accuracy(loader):
        model.eval()
        correct = total = 0
        with torch.no_grad():
            for x, y in loader:
                correct += (model(x).argmax(1) == y).sum().item()
                total += len(y)
        return correct / total

    best, best_epoch, best_state, start = -1.0, 0, None, time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        for x, y in train:
            optimizer.zero_grad()
            criterion(model(x), y).backward()
            optimizer.step()
        scheduler.step()
        val_accuracy = accuracy(val)
        print("python epoch %d: val accuracy %.4f" % (epoch, val_accuracy), file=sys.stderr, flush=True)
        if val_accuracy > best:
            best, best_epoch = val_accuracy, epoch
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
    seconds = time.perf_counter() - start
    model.load_state_dict(best_state)
    return best, best_epoch, accuracy(test), seconds


def run(argv, cwd):
    print("$ " + " ".join(argv), file=sys.stderr, flush=True)
    result = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        sys.exit("failed (%d): %s\n%s" % (result.returncode, " ".join(argv), result.stdout[-4000:]))
    return result.stdout


def mltk_training(work_dir, bin_dir, epochs):
    """Runs ml-train in work_dir; returns (best val accuracy, its epoch, test accuracy, seconds)."""
    start = time.perf_counter()
    log = run([os.path.join(bin_dir, "ml-train"), "--config", "configs/hymenoptera_config.yaml", "--fold", "0",
               "--num_epochs", str(epochs)], work_dir)
    seconds = time.perf_counter() - start
    with open(os.path.join(work_dir, "runs", "hymenoptera_base_fold_0", "metrics.json")) as f:
        history = json.load(f)
    best = max(history, key=lambda row: row["val_accuracy"])  # first maximum, as ml-train keeps it
    test = re.search(r"Test accuracy of best.pt \(epoch \d+\): ([0-9.]+)", log)
    return best["val_accuracy"], best["epoch"], float(test.group(1)), seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work_dir", required=True, help="created; must not exist yet")
    parser.add_argument("--build_dir", default=os.path.join(ROOT, "build"))
    parser.add_argument("--data", default=hymenoptera_dir())
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--parallel", action="store_true", help="train both at once")
    args = parser.parse_args()

    work = os.path.abspath(args.work_dir)
    os.makedirs(os.path.join(work, "configs"))
    shutil.copy(os.path.join(ROOT, "configs", "hymenoptera_config.yaml"), os.path.join(work, "configs"))
    for part in ("train", "val"):
        shutil.copytree(os.path.join(args.data, part), os.path.join(work, "data", "hymenoptera", "raw", part))

    bin_dir = os.path.join(args.build_dir, "bin")
    run([os.path.join(bin_dir, "ml-split"), "--raw_data", "data/hymenoptera/raw", "--folds", "5"], work)
    if args.parallel:
        with concurrent.futures.ProcessPoolExecutor(max_workers=1) as pool:
            python_side = pool.submit(python_training, work, args.epochs)
            ours = mltk_training(work, bin_dir, args.epochs)
            theirs = python_side.result()
    else:
        ours = mltk_training(work, bin_dir, args.epochs)
        theirs = python_training(work, args.epochs)
    print("| implementation | best val accuracy (epoch) | test accuracy of best | training wall time (s) |")
    print("|---|---:|---:|---:|")
    for name, (val, epoch, test, seconds) in (("mltk ml-train (LibTorch 1.13.1)", ours),
                                             ("Python PyTorch 1.13.1 + torchvision 0.14.1", theirs)):
        print("| %s | %.4f (%d) | %.4f | %.0f |" % (name, val, epoch, test, seconds))


if __name__ == "__main__":
    main()
