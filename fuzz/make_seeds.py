"""Writes the seed corpora of the fuzz targets from real files.

usage: make_seeds.py REPO_ROOT SEEDS_DIR [HYMENOPTERA_DIR]

Each target gets a folder SEEDS_DIR/<target> of small, valid inputs: checkpoints written by
torch.save, ONNX models of onnx's conformance data and one exported by torch.onnx, the repository's
configuration files, hymenoptera images re-encoded in the formats OpenCV reads, and split indexes of
the hymenoptera folder. Small inputs keep each execution fast; the fuzzer grows them as it needs.
"""
import io
import os
import pathlib
import shutil
import sys

import onnx
import torch

root, seeds = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
hymenoptera = pathlib.Path(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] else None


def folder(target):
    path = seeds / target
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def checkpoint_seeds():
    out = folder("checkpoint")
    torch.manual_seed(0)
    conv = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.Flatten(),
                               torch.nn.Linear(2, 2))
    torch.save(conv.state_dict(), out / "state_dict.pt")
    # The layout ml-train writes (docs/checkpoint-format.md): a dict of the model's state dict, the
    # configuration text and training progress.
    torch.save({"model_state_dict": conv.state_dict(), "epoch": 3, "best_accuracy": 0.5,
                "class_names": ["ants", "bees"], "config": "model:\n  type: custom\n",
                "history": [(1, 0.25), (2, 0.5)], "flags": {"resumed": False, "note": None}},
               out / "checkpoint.pt")
    base = torch.arange(12, dtype=torch.float32)
    torch.save({"transposed": base.view(3, 4).t(), "offset": base[5:], "shared": base,
                "int64": torch.arange(4), "half": torch.ones(2, dtype=torch.float16),
                "bool": torch.tensor([True, False]), "scalar": torch.tensor(7),
                "parameter": torch.nn.Parameter(torch.zeros(2))}, out / "views.pt")


def onnx_seeds():
    out = folder("onnx_model")
    node_data = pathlib.Path("/usr/share/libonnx-testdata/data/node")
    chosen = ["test_add", "test_conv_with_strides_padding", "test_gemm_default_single_elem_vector_bias",
              "test_maxpool_2d_pads", "test_relu", "test_batchnorm_example", "test_reshape_reordered_all_dims",
              "test_concat_2d_axis_0", "test_globalaveragepool", "test_flatten_axis0", "test_softmax_axis_1",
              "test_transpose_default", "test_matmul_2d", "test_constant", "test_clip_default_min",
              "test_averagepool_2d_pads_count_include_pad", "test_reduce_mean_keepdims_example",
              "test_slice", "test_gather_0", "test_squeeze", "test_unsqueeze_axis_0", "test_cast_FLOAT_to_DOUBLE"]
    for name in chosen:
        model = node_data / name / "model.onnx"
        if model.exists():
            shutil.copyfile(model, out / (name + ".onnx"))
    # A model with initializers and several nodes, as ml-export writes them.
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 2)).eval()
    buffer = io.BytesIO()
    torch.onnx.export(model, torch.zeros(1, 3, 8, 8), buffer, opset_version=13, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}})
    (out / "tiny_classifier.onnx").write_bytes(buffer.getvalue())
    # The same with a weight whose dims ask for more bytes than its raw_data holds: a loader that
    # laid a tensor over those bytes regardless would read past them.
    tampered = onnx.load_from_string(buffer.getvalue())
    weight = next(tensor for tensor in tampered.graph.initializer if len(tensor.dims) > 1 and tensor.raw_data)
    weight.dims[0] += 1
    (out / "tiny_classifier_dims_past_data.onnx").write_bytes(tampered.SerializeToString())


def config_seeds():
    out = folder("config")
    for config in sorted((root / "configs").glob("*.yaml")):
        shutil.copyfile(config, out / config.name)
    (out / "minimal.yaml").write_text("data:\n  data_dir: data\nmodel:\n  type: custom\n"
                                      "  custom_architecture: tiny_net\n  num_classes: 2\n")


def image_seeds():
    from PIL import Image
    out = folder("image")
    if not hymenoptera:
        return
    images = sorted(hymenoptera.glob("train/*/*"))[:4]
    for index, path in enumerate(images):
        try:
            picture = Image.open(path).convert("RGB")
        except OSError:
            continue
        small = picture.resize((48, 36))
        small.save(out / f"{index}.jpg", quality=80)
        small.save(out / f"{index}_progressive.jpg", quality=60, progressive=True)
        small.save(out / f"{index}.png")
        if index == 0:
            small.convert("L").save(out / "gray.jpg", quality=70)
            small.convert("CMYK").save(out / "cmyk.jpg", quality=70)
            small.convert("P").save(out / "palette.png")
            small.convert("RGBA").save(out / "alpha.png")
            small.save(out / "image.bmp")
            small.save(out / "image.tiff")
            small.save(out / "image.webp", quality=60)
            small.save(out / "image.ppm")
            # Large enough for the decoders' DCT scaling (short side >= 2 x 256).
            picture.resize((640, 520)).save(out / "large.jpg", quality=20)
            picture.resize((520, 16)).save(out / "wide.jpg", quality=50, subsampling=2)
    # Files of the dataset that are not JPEGs at all.
    for odd in hymenoptera.glob("*/*/*.gif"):
        shutil.copyfile(odd, out / odd.name)


def split_index_seeds():
    out = folder("split_index")
    (out / "test.txt").write_text("ants/0013035.jpg\nbees/16838648_415acd9e3f.jpg\n")
    (out / "crlf.txt").write_text("ants/0013035.jpg\r\n\r\nbees/16838648_415acd9e3f.jpg\r\n")
    if hymenoptera:
        lines = sorted(str(path.relative_to(hymenoptera / "val")) for path in hymenoptera.glob("val/*/*"))
        (out / "hymenoptera_val.txt").write_text("".join(line + "\n" for line in lines[:40]))


checkpoint_seeds()
onnx_seeds()
config_seeds()
image_seeds()
split_index_seeds()
