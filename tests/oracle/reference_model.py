"""Oracle for the model zoo and the checkpoint format, run with Debian's /usr/bin/python3.

  reference_model.py forward ARCH OUT.pt
      builds ARCH (torchvision 0.14 or the custom definition) with seed 0 and num_classes=2, and
      saves {"state_dict", "input", "output"} where output is the eval-mode forward of a seeded
      input [2, 3, 224, 224].
  reference_model.py bare-state-dict ARCH OUT.pth
      saves model.state_dict() itself (an OrderedDict), as torchvision's weight files are.
  reference_model.py python-checkpoint ARCH OUT.pt
      saves a plain-dict checkpoint with the documented keys, as a Python tool would write it.
  reference_model.py check-ours ARCH CHECKPOINT INPUT_OUTPUT.pt
      torch.load()s a checkpoint written by the C++ side, loads model_state_dict strictly into the
      Python model and prints the max abs difference to the output the C++ side saved.
"""
import sys

import torch

sys.path.insert(0, __import__("os").path.dirname(__file__))
from custom_models import build  # noqa: E402

torch.set_num_threads(2)


def seeded_model(arch):
    torch.manual_seed(0)
    model = build(arch, num_classes=2)
    model.eval()
    return model


def forward(arch, out):
    model = seeded_model(arch)
    torch.manual_seed(1)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        y = model(x)
    torch.save({"state_dict": dict(model.state_dict()), "input": x, "output": y}, out)


def bare_state_dict(arch, out):
    torch.save(seeded_model(arch).state_dict(), out)


def python_checkpoint(arch, out):
    model = seeded_model(arch)
    torch.save(
        {
            "model_state_dict": model.state_dict(),
            "model": {"type": "custom" if arch in ("simple_cnn", "tiny_net") else "base",
                      "architecture": arch, "num_classes": 2, "input_size": 224},
            "class_names": ["ants", "bees"],
            "normalization": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
            "epoch": 3,
            "config": "model:\n  architecture: %s\n" % arch,
        },
        out,
    )


def check_ours(arch, checkpoint, io_file):
    ckpt = torch.load(checkpoint)
    assert type(ckpt) is dict, "checkpoint must be a plain dict, got %s" % type(ckpt)
    model = build(arch, num_classes=ckpt["model"]["num_classes"])
    model.load_state_dict(ckpt["model_state_dict"], strict=True)
    model.eval()
    io = torch.load(io_file)
    with torch.no_grad():
        y = model(io["input"])
    print("max_abs_diff %.3e" % (y - io["output"]).abs().max().item())
    print("class_names %s" % ",".join(ckpt["class_names"]))


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"forward": forward, "bare-state-dict": bare_state_dict, "python-checkpoint": python_checkpoint,
     "check-ours": check_ours}[command](*args)
