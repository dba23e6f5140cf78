"""Oracle for checkpoints written by ml-train, run with Debian's /usr/bin/python3.

  check_checkpoint.py CHECKPOINT
      torch.load()s the file as plain Python (no project code), builds the architecture it names
      (torchvision or custom_models.py), loads model_state_dict strictly and prints a JSON summary:
      {"architecture", "num_classes", "input_size", "class_names", "epoch", "keys", "logits_shape"}.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from custom_models import CUSTOM, build  # noqa: E402

torch.set_num_threads(2)


def main(path):
    ckpt = torch.load(path, map_location="cpu")
    info = ckpt["model"]
    arch, num_classes = info["architecture"], info["num_classes"]
    input_size = info.get("input_size", 224)
    model = build(arch, num_classes=num_classes, input_size=input_size) if arch in CUSTOM else build(arch, num_classes)
    model.load_state_dict(ckpt["model_state_dict"], strict=True)
    model.eval()
    with torch.no_grad():
        logits = model(torch.zeros(1, 3, input_size, input_size))
    print(json.dumps({
        "architecture": arch,
        "num_classes": num_classes,
        "input_size": input_size,
        "class_names": ckpt["class_names"],
        "epoch": ckpt["epoch"],
        "keys": sorted(ckpt.keys()),
        "logits_shape": list(logits.shape),
    }))


if __name__ == "__main__":
    main(sys.argv[1])
