"""Deployed web app against ONNX Runtime Node, measured in one run.

For mobilenet_v3_small and resnet18 (torchvision architectures with seeded random weights, two
classes, 224x224), writes a checkpoint, runs `ml-export --deploy_dir` (without validation: only
speed is measured here), then measures:
  - the web app in headless Debian chromium, served without COOP/COEP (one WebAssembly thread) and
    with them (threads): time from navigation to the page being ready and to its first prediction,
    and the median and p90 of window.mltkClassify on one hymenoptera photo (fetch, decode,
    preprocess and inference: what a user of the page waits for);
  - ONNX Runtime Node on the same model.onnx and the same uint8 input, session.run only
    (tools/ort/run_model.js --benchmark), with one thread and with the default threads;
  - the size of web/.

Usage (from the repository root, after building ml-export):
  /usr/bin/python3 bench/web_app_benchmark.py [--build_dir build] [--runs 30] [--work_dir DIR]
"""
import argparse
import json
import pathlib
import subprocess
import tempfile

import torch
import torchvision

ROOT = pathlib.Path(__file__).resolve().parent.parent
ARCHITECTURES = ["mobilenet_v3_small", "resnet18"]
SIZE = 224


def run(command, **kwargs):
    return subprocess.run([str(part) for part in command], check=True, capture_output=True, text=True, **kwargs)


def write_checkpoint(architecture, path):
    torch.manual_seed(0)
    model = getattr(torchvision.models, architecture)(num_classes=2)
    torch.save({
        "model_state_dict": model.state_dict(),
        "model": {"type": "base", "architecture": architecture, "num_classes": 2, "input_size": SIZE, "eval_resize": 256},
        "class_names": ["ants", "bees"],
        "normalization": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
        "epoch": 0,
        "config": "",
    }, path)


def node_latency(model, work, threads, runs):
    pixels = work / "pixels.bin"
    pixels.write_bytes(bytes((i * 37) % 256 for i in range(SIZE * SIZE * 3)))
    request = work / f"request_{threads}.json"
    request.write_text(json.dumps({"model": str(model), "threads": threads,
                                   "inputs": [{"name": "image", "dims": [1, SIZE, SIZE, 3], "dtype": "uint8", "file": str(pixels)}]}))
    out = run(["node", ROOT / "tools/ort/run_model.js", request, "--benchmark", runs, "--warmup", 5]).stdout
    return json.loads(out.strip().splitlines()[-1])


def folder_size(folder):
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build_dir", default=str(ROOT / "build"))
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--work_dir")
    args = parser.parse_args()
    work = pathlib.Path(args.work_dir or tempfile.mkdtemp(prefix="mltk_web_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    photo = sorted((ROOT.parent / "shared/datasets/hymenoptera_data/val/bees").glob("*.jpg"))[0]

    rows = []
    for architecture in ARCHITECTURES:
        checkpoint = work / f"{architecture}.pt"
        write_checkpoint(architecture, checkpoint)
        deployment = work / architecture
        run([pathlib.Path(args.build_dir) / "bin/ml-export", "--checkpoint_path", checkpoint, "--deploy_dir", deployment,
             "--no-validate", "--overwrite"])
        web = deployment / "web"
        (web / "photo.jpg").write_bytes(photo.read_bytes())
        page = {}
        for isolated in (False, True):
            command = ["node", ROOT / "bench/web_app_latency.mjs"] + (["--isolated"] if isolated else []) + [web, "photo.jpg", args.runs]
            page[isolated] = json.loads(run(command).stdout.strip().splitlines()[-1])
        (web / "photo.jpg").unlink()
        node_one = node_latency(deployment / "model.onnx", work, 1, args.runs)
        node_default = node_latency(deployment / "model.onnx", work, 0, args.runs)
        rows.append((architecture, page, node_one, node_default, folder_size(web)))

    print(f"{'model':<20} {'web/ MB':>8} {'page ready ms':>14} {'first pred ms':>14} "
          f"{'page 1 thr ms':>14} {'page thr ms':>12} {'ORT Node 1 thr ms':>18} {'ORT Node ms':>12}")
    for architecture, page, node_one, node_default, size in rows:
        single, threaded = page[False], page[True]
        print(f"{architecture:<20} {size / 1e6:>8.1f} {single['ready_ms']:>14.0f} {single['first_prediction_ms']:>14.0f} "
              f"{single['median_ms']:>14.1f} {threaded['median_ms']:>12.1f} {node_one['median_ms']:>18.1f} "
              f"{node_default['median_ms']:>12.1f}")
    print(json.dumps([{"architecture": a, "web_bytes": s, "page": {"single_thread": p[False], "threads": p[True]},
                       "onnxruntime_node": {"one_thread": n1, "default_threads": n0}} for a, p, n1, n0, s in rows], indent=1))


if __name__ == "__main__":
    main()
