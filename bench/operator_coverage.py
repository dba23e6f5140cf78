#!/usr/bin/python3
"""The aten operators ml-export converts against those torch.onnx registers, at one opset.

Ours come from `ml-export --list_operators --opset_version N`; torch.onnx's from its own registry of
symbolic functions (python3-torch), counting the aten operators with a function for that opset.

Usage (from the repository root, after scripts/setup.sh):
  /usr/bin/python3 bench/operator_coverage.py [--opset 14] [--bin build/bin] [--list]
"""
import argparse
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent


def ours(bin_dir, opset):
    out = subprocess.run([str(bin_dir / "ml-export"), "--list_operators", "--opset_version", str(opset)],
                         check=True, capture_output=True, text=True).stdout
    return {line.split(" -> ")[0] for line in out.splitlines() if line.startswith("aten::")}


def torch_onnx(opset):
    import torch.onnx  # noqa: F401 - importing registers every symbolic function
    from torch.onnx._internal import registration
    registry = registration.registry
    return {name for name in registry.all_functions()
            if name.startswith("aten::") and registry.is_registered_op(name, opset)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--opset", type=int, default=14)
    parser.add_argument("--bin", type=pathlib.Path, default=ROOT / "build" / "bin")
    parser.add_argument("--list", action="store_true", help="also list the operators only one side converts")
    args = parser.parse_args()
    mine, theirs = ours(args.bin, args.opset), torch_onnx(args.opset)
    print(f"aten operators converted at opset {args.opset}: ml-export {len(mine)}, torch.onnx {len(theirs)}; "
          f"both {len(mine & theirs)}, only ml-export {len(mine - theirs)}, only torch.onnx {len(theirs - mine)}")
    if args.list:
        print("only ml-export:", " ".join(sorted(mine - theirs)))
        print("only torch.onnx:", " ".join(sorted(theirs - mine)))


if __name__ == "__main__":
    main()
