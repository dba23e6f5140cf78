"""Oracle for ml-export --torchscript, run with Debian's /usr/bin/python3.

  torchscript_modules.py OUT_DIR [NAME ...]
      For every module below (or the NAMEs given): traces it with torch.jit.trace at batch 2 and
      saves OUT_DIR/NAME.pt (TorchScript); saves OUT_DIR/NAME.io.pt = {"inputs", "outputs",
      "inputs_other", "outputs_other"}: seeded inputs at batch 2 and batch 3 and the eager module's
      own outputs for them (tuples flattened); and exports the module with torch.onnx.export at
      opsets 11, 14 and 17 with a dynamic batch, as OUT_DIR/NAME.peer<opset>.onnx when it can.
      OUT_DIR/manifest.json lists {name, family, input_shapes, peer: {opset: error or null}}.
  torchscript_modules.py --fixtures OUT_DIR
      Files for ml-export's own checks: two_inputs.pt (forward(image [N,3,8,8], features [N,6]) returns
      a tuple of two tensors) with two_inputs.io.pt as above; int_argument.pt (a scripted forward taking
      an int); branching.pt (a scripted forward whose path depends on the input's values);
      not_torchscript.pt (a torch.save of a dict of tensors, as a checkpoint is).
"""
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)


class Lambda(nn.Module):
    """A module whose forward is `fn`, with the submodules it uses registered."""

    def __init__(self, fn, **modules):
        super().__init__()
        self.fn = fn
        for name, module in modules.items():
            setattr(self, name, module)

    def forward(self, *xs):
        return self.fn(self, *xs)


CASES = []


def case(family, name, shapes, fn, **modules):
    CASES.append((family, name, shapes, lambda: Lambda(fn, **modules)))


IMG = [[2, 4, 6, 6]]
SEQ = [[2, 3, 8]]
VEC = [[2, 10]]

# normalization
case("normalization", "group_norm", IMG, lambda m, x: m.n(x), n=nn.GroupNorm(2, 4))
case("normalization", "instance_norm", IMG, lambda m, x: m.n(x), n=nn.InstanceNorm2d(4, affine=True))
case("normalization", "instance_norm_1d", SEQ, lambda m, x: m.n(x), n=nn.InstanceNorm1d(3))
case("normalization", "layer_norm", SEQ, lambda m, x: m.n(x), n=nn.LayerNorm(8))
case("normalization", "layer_norm_2d", IMG, lambda m, x: m.n(x), n=nn.LayerNorm([6, 6]))
case("normalization", "batch_norm_1d", SEQ, lambda m, x: m.n(x), n=nn.BatchNorm1d(3))
case("normalization", "batch_norm_2d", IMG, lambda m, x: m.n(x), n=nn.BatchNorm2d(4))
case("normalization", "batch_norm_3d", [[2, 3, 4, 4, 4]], lambda m, x: m.n(x), n=nn.BatchNorm3d(3))

# activations
for name, module in [("prelu", nn.PReLU(4)), ("elu", nn.ELU(0.7)), ("selu", nn.SELU()), ("celu", nn.CELU(1.3)),
                     ("softplus", nn.Softplus(beta=2.0, threshold=5.0)), ("softsign", nn.Softsign()),
                     ("mish", nn.Mish()), ("gelu", nn.GELU()), ("gelu_tanh", nn.GELU(approximate="tanh")),
                     ("leaky_relu", nn.LeakyReLU(0.2)), ("log_sigmoid", nn.LogSigmoid()),
                     ("hardtanh", nn.Hardtanh(-0.5, 0.8)), ("threshold", nn.Threshold(0.1, -2.0)),
                     ("tanh", nn.Tanh()), ("sigmoid", nn.Sigmoid()), ("silu", nn.SiLU()),
                     ("hardswish", nn.Hardswish()), ("hardsigmoid", nn.Hardsigmoid()), ("relu6", nn.ReLU6()),
                     ("relu_inplace", nn.ReLU(inplace=True))]:
    case("activations", name, IMG, lambda m, x: m.a(x * 3), a=module)

# resampling
case("resampling", "nearest_scale", IMG, lambda m, x: F.interpolate(x, scale_factor=2, mode="nearest"))
case("resampling", "nearest_size", IMG, lambda m, x: F.interpolate(x, size=(9, 4), mode="nearest"))
case("resampling", "bilinear", IMG, lambda m, x: F.interpolate(x, scale_factor=1.5, mode="bilinear"))
case("resampling", "bilinear_align_corners", IMG,
     lambda m, x: F.interpolate(x, size=(11, 7), mode="bilinear", align_corners=True))
case("resampling", "bicubic", IMG, lambda m, x: F.interpolate(x, scale_factor=2, mode="bicubic"))
case("resampling", "bicubic_align_corners", IMG,
     lambda m, x: F.interpolate(x, size=(10, 5), mode="bicubic", align_corners=True))
case("resampling", "pixel_shuffle", [[2, 8, 3, 3]], lambda m, x: F.pixel_shuffle(x, 2))
case("resampling", "pixel_unshuffle", IMG, lambda m, x: F.pixel_unshuffle(x, 2))

# convolution and pooling
case("convolution", "conv1d_groups_dilation", [[2, 4, 12]], lambda m, x: m.c(x),
     c=nn.Conv1d(4, 6, 3, groups=2, dilation=2, padding=1))
case("convolution", "conv2d_reflect", IMG, lambda m, x: m.c(x), c=nn.Conv2d(4, 5, 3, padding=1, padding_mode="reflect"))
case("convolution", "conv2d_same", IMG, lambda m, x: m.c(x), c=nn.Conv2d(4, 5, 3, padding="same"))
case("convolution", "conv3d", [[2, 3, 5, 6, 6]], lambda m, x: m.c(x), c=nn.Conv3d(3, 4, 3, stride=2, padding=1))
case("convolution", "conv_transpose2d", IMG, lambda m, x: m.c(x),
     c=nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1))
case("convolution", "conv_transpose1d", SEQ, lambda m, x: m.c(x), c=nn.ConvTranspose1d(3, 2, 4, stride=2))
case("convolution", "max_pool2d_ceil", [[2, 3, 7, 7]], lambda m, x: F.max_pool2d(x, 3, 2, ceil_mode=True))
case("convolution", "avg_pool2d_exclude_pad", [[2, 3, 7, 7]],
     lambda m, x: F.avg_pool2d(x, 3, 2, padding=1, count_include_pad=False))
case("convolution", "avg_pool2d_ceil", [[2, 3, 7, 7]], lambda m, x: F.avg_pool2d(x, 2, 2, ceil_mode=True))
case("convolution", "max_pool1d", SEQ, lambda m, x: F.max_pool1d(x, 3, 2, padding=1))
case("convolution", "avg_pool1d", SEQ, lambda m, x: F.avg_pool1d(x, 2))
case("convolution", "adaptive_max_pool2d", IMG, lambda m, x: F.adaptive_max_pool2d(x, (3, 2)))
case("convolution", "adaptive_max_pool2d_global", IMG, lambda m, x: F.adaptive_max_pool2d(x, 1))
case("convolution", "adaptive_avg_pool1d", SEQ, lambda m, x: F.adaptive_avg_pool1d(x, 4))

# padding
case("padding", "pad_constant", IMG, lambda m, x: F.pad(x, (1, 2, 0, 3), value=0.5))
case("padding", "pad_reflect", IMG, lambda m, x: F.pad(x, (1, 2, 2, 1), mode="reflect"))
case("padding", "pad_replicate", IMG, lambda m, x: F.pad(x, (2, 1, 1, 0), mode="replicate"))

# tensors
case("tensors", "cat_stack", IMG, lambda m, x: torch.stack([torch.cat([x, x * 2], 1), torch.cat([x, -x], 1)], 2))
case("tensors", "chunk_split_unbind", IMG,
     lambda m, x: x.chunk(2, 1)[1] + x.split([1, 3], 1)[1][:, :2].sum(1, keepdim=True) + torch.unbind(x, 1)[3].unsqueeze(1))
case("tensors", "narrow_select", IMG, lambda m, x: x.narrow(2, 1, 3).select(1, 2))
case("tensors", "index_select", IMG, lambda m, x: x.index_select(1, torch.tensor([3, 0, 0])))
case("tensors", "gather", SEQ, lambda m, x: x.gather(2, x.argsort(2)[:, :, :4]))
case("tensors", "strided_slicing", IMG, lambda m, x: x[:, 1:, ::2, -3:] * x[:, :-1, 1::2, :3])
case("tensors", "flip", IMG, lambda m, x: x.flip(3) - x.flip([1, 2]))
case("tensors", "roll", IMG, lambda m, x: x.roll(2, 3) + x.roll((1, -1), (1, 2)))
case("tensors", "repeat", SEQ, lambda m, x: x.repeat(1, 2, 3))
case("tensors", "expand", [[2, 1, 5]], lambda m, x: x.expand(-1, 4, 5) + x.unsqueeze(3).expand(-1, 1, 5, 3).sum(3))
case("tensors", "squeeze_unsqueeze", [[2, 1, 5]], lambda m, x: x.squeeze(1).unsqueeze(-1).unsqueeze(0))
case("tensors", "view_reshape_flatten", IMG,
     lambda m, x: x.view(x.size(0), 2, -1).reshape(x.size(0), -1, 9).flatten(1))
case("tensors", "permute_transpose_contiguous", IMG, lambda m, x: x.permute(0, 2, 3, 1).transpose(1, 2).contiguous())
case("tensors", "dropout_inplace", VEC, lambda m, x: m.d(x) * 2 + m.a(x), d=nn.Dropout(0.3, inplace=True),
     a=nn.AlphaDropout(0.2))
case("tensors", "type_casts", IMG, lambda m, x: (x * 4).int().float() + (x > 0).float() + x.double().float())
case("tensors", "arange_zeros_ones_full", SEQ,
     lambda m, x: x + torch.arange(x.size(2)) + torch.zeros(x.size(2)) + torch.ones(1, 3, 1) + torch.full((8,), 2.5))
case("tensors", "tril_triu", [[2, 3, 8], [2, 10]],
     lambda m, x, y: (x.tril() + x.triu(2) + x.tril(-1) * 2 + x.triu(-2), y.triu(1) - y.tril(-3)))
case("tensors", "repeat_interleave", SEQ,
     lambda m, x: (x.repeat_interleave(2, dim=1), x.repeat_interleave(3, dim=-1), x.repeat_interleave(2, dim=0),
                   x[:, 0].repeat_interleave(2)))
case("tensors", "unsafe_chunk_split", IMG,
     lambda m, x: torch.unsafe_chunk(x, 2, 1)[1] + torch.unsafe_split(x, 3, 1)[0][:, :2]
     + torch.unsafe_split_with_sizes(x, [3, 1], 1)[1])
case("tensors", "index_tensors", IMG,
     lambda m, x: (x[:, torch.tensor([3, 0, 1])], x[:, :, torch.tensor([[0, 1], [5, 4]])],
                   x[:, torch.tensor([0, 2]), torch.tensor([1, 3])], x[torch.tensor([1, 0])],
                   x[torch.arange(x.size(0)), x.flatten(1).argmax(1) % 4]))
case("tensors", "index_mask", IMG, lambda m, x: (x[x > 0.5], x[:, torch.tensor([True, False, True, True])]))
case("tensors", "nonzero", IMG, lambda m, x: torch.nonzero(x > 0.5))
case("tensors", "scatter", SEQ,
     lambda m, x: (x.scatter(2, x.argsort(2)[:, :, :4], x[:, :, :4] * 2), x.scatter(2, x.argsort(2)[:, :, :3], 1.5),
                   x.scatter(1, x.argsort(1)[:, :2], x * 3)))
case("tensors", "scatter_add", SEQ, lambda m, x: x.scatter_add(2, (x.abs() * 3).long().clamp(max=7), x))

# math
case("math", "exp_log_sqrt_rsqrt", IMG, lambda m, x: x.exp() + (x.abs() + 1).log() + x.abs().sqrt() + (x.abs() + 0.5).rsqrt())
case("math", "pow", IMG, lambda m, x: x.pow(2) + x.abs().pow(0.5) + torch.pow(2.0, x))
case("math", "abs_sign", IMG, lambda m, x: x.abs() * x.sign())
case("math", "floor_ceil_round", IMG, lambda m, x: (x * 3).floor() + (x * 3).ceil() + (x * 3).round())
case("math", "clamp", IMG, lambda m, x: x.clamp(-0.5, 0.7) + x.clamp(min=0.1) + x.clamp(max=-0.2))
case("math", "reciprocal", IMG, lambda m, x: (x.abs() + 1).reciprocal())
case("math", "trigonometric", IMG,
     lambda m, x: x.sin() + x.cos() + (x * 0.5).tan() + x.tanh().asin() + x.tanh().acos() + x.atan() + x.sinh() + x.cosh())
case("math", "erf", IMG, lambda m, x: torch.erf(x))
case("math", "min_max_maximum_minimum", IMG,
     lambda m, x: torch.maximum(x, -x) + torch.minimum(x, x * 2) + torch.max(x, x.flip(3)) + torch.min(x, x.flip(2)))
case("math", "comparisons", IMG,
     lambda m, x: (x > 0.1).float() + (x < -0.1).float() + (x >= 0).float() + (x <= 0.3).float() + (x == x).float() + (x != 0.5).float())
case("math", "logical", IMG,
     lambda m, x: torch.logical_and(x > 0, x < 1).float() + torch.logical_or(x > 1, x < -1).float()
     + torch.logical_not(x > 0).float() + torch.logical_xor(x > 0, x > 0.5).float())
case("math", "where", IMG, lambda m, x: torch.where(x > 0, x, x * 0.1))
case("math", "masked_fill", IMG, lambda m, x: x.masked_fill(x < 0, -1.5))
case("math", "log1p_log2_square", IMG, lambda m, x: x.abs().log1p() + (x.abs() + 0.5).log2() + x.square())
case("math", "floor_divide_remainder", IMG,
     lambda m, x: (x * 5 // 1.5, torch.floor_divide(x, x.flip(3).abs() + 0.5), x % 0.7, x.remainder(-0.6),
                   torch.remainder(x * 3, x.flip(2)), (x * 10).long() // 3, (x * 10).long() // -4,
                   (x * 10).long() % -4, (x * 10).long().remainder(3)))

# reductions
case("reductions", "sum_mean", IMG, lambda m, x: x.sum(1) + x.mean((1,), keepdim=False) + x.sum((2, 3), keepdim=True).squeeze(3).squeeze(2).unsqueeze(1).sum(1, keepdim=True).squeeze(1).mean())
case("reductions", "amax_amin", IMG, lambda m, x: x.amax(2) + x.amin(2) + x.amax((1, 2), keepdim=True).squeeze(1))
case("reductions", "max_min_with_indices", SEQ,
     lambda m, x: (x.max(2)[0], x.max(2)[1], x.min(1, keepdim=True)[0], x.min(1, keepdim=True)[1]))
case("reductions", "max_all", IMG, lambda m, x: x.max() + x.min())
case("reductions", "var_std", IMG, lambda m, x: x.var(1) + x.std((2, 3), keepdim=True).mean(1) + x.var(1, unbiased=False))
case("reductions", "norm", IMG, lambda m, x: x.norm(dim=1) + x.norm(p=1, dim=1) + x.norm(dim=(2, 3), keepdim=True).mean(1))
case("reductions", "logsumexp", IMG, lambda m, x: x.logsumexp(1) + x.logsumexp(2, keepdim=True).mean(1))
case("reductions", "prod", IMG,
     lambda m, x: (x.prod(1), x.prod(3, keepdim=True), (x * 0.1 + 1).prod(), x.prod(-2, keepdim=False)))
case("reductions", "argmax_argmin", IMG, lambda m, x: (x.argmax(1), x.argmin(3, keepdim=True), x.flatten(1).argmax(1)))

# softmax, products, attention, recurrences, sequences
case("products", "softmax_log_softmax", IMG, lambda m, x: x.softmax(1) + x.log_softmax(2) + x.softmax(-1))
case("products", "matmul_bmm", SEQ, lambda m, x: torch.matmul(x, x.transpose(1, 2)) + torch.bmm(x, x.transpose(1, 2)))
case("products", "baddbmm", SEQ, lambda m, x: torch.baddbmm(x[:, :, :3], x, x.transpose(1, 2)[:, :, :3], beta=0.5, alpha=2.0))
case("products", "einsum", SEQ, lambda m, x: torch.einsum("bij,bkj->bik", x, x))
case("products", "linear", SEQ, lambda m, x: m.l(x), l=nn.Linear(8, 5))
case("products", "multihead_attention", [[2, 5, 8]], lambda m, x: m.a(x, x, x, need_weights=False)[0],
     a=nn.MultiheadAttention(8, 2, batch_first=True))
case("products", "multihead_attention_with_weights", [[2, 5, 8]], lambda m, x: m.a(x, x, x),
     a=nn.MultiheadAttention(8, 2, batch_first=True))
case("products", "attention_as_traced", [[2, 5, 8]],
     lambda m, x: torch.softmax(x @ x.transpose(-2, -1) / math.sqrt(8), -1) @ x)
case("recurrent", "lstm", [[2, 5, 4]], lambda m, x: m.r(x)[0], r=nn.LSTM(4, 6, num_layers=2, batch_first=True))
case("recurrent", "lstm_bidirectional", [[2, 5, 4]], lambda m, x: m.r(x)[0],
     r=nn.LSTM(4, 3, batch_first=True, bidirectional=True))
case("recurrent", "lstm_with_states", [[2, 5, 4]], lambda m, x: m.r(x), r=nn.LSTM(4, 6, num_layers=2, batch_first=True))
case("recurrent", "gru", [[2, 5, 4]], lambda m, x: m.r(x)[0], r=nn.GRU(4, 6, num_layers=2, batch_first=True))
case("recurrent", "gru_bidirectional", [[2, 5, 4]], lambda m, x: m.r(x)[0],
     r=nn.GRU(4, 3, batch_first=True, bidirectional=True))
case("sequences", "cumsum", SEQ, lambda m, x: x.cumsum(2) + x.cumsum(1))
case("sequences", "topk", SEQ, lambda m, x: x.topk(3, 2))
case("sequences", "sort", SEQ, lambda m, x: x.sort(2, descending=True))
case("sequences", "embedding", SEQ, lambda m, x: m.e((x.abs() * 3).long().clamp(max=9)).sum(2), e=nn.Embedding(10, 4))

PEER_OPSETS = (11, 14, 17)


def with_batch(shapes, batch):
    return [[batch] + shape[1:] for shape in shapes]


def seeded(shapes, seed):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=generator) for shape in shapes]


def flatten(value):
    if isinstance(value, torch.Tensor):
        return [value]
    out = []
    for element in value:
        out += flatten(element)
    return out


def prepare(module):
    torch.manual_seed(0)
    built = module()
    for sub in built.modules():  # non-trivial running statistics, so eval-mode normalization is tested
        if isinstance(sub, nn.modules.batchnorm._BatchNorm):
            sub.running_mean.uniform_(-0.5, 0.5)
            sub.running_var.uniform_(0.5, 2.0)
    return built.eval()


def main(out_dir, names):
    os.makedirs(out_dir, exist_ok=True)
    manifest = []
    for family, name, shapes, module in CASES:
        if names and name not in names:
            continue
        model = prepare(module)
        inputs = seeded(with_batch(shapes, 2), 1)
        inputs_other = seeded(with_batch(shapes, 3), 2)
        with torch.no_grad():
            outputs = flatten(model(*[x.clone() for x in inputs]))
            outputs_other = flatten(model(*[x.clone() for x in inputs_other]))
            traced = torch.jit.trace(model, tuple(x.clone() for x in inputs), check_trace=False)
        torch.jit.save(traced, os.path.join(out_dir, name + ".pt"))
        torch.save({"inputs": inputs, "outputs": outputs, "inputs_other": inputs_other,
                    "outputs_other": outputs_other}, os.path.join(out_dir, name + ".io.pt"))
        input_names = ["input_%d" % i for i in range(len(inputs))]
        output_names = ["output_%d" % i for i in range(len(outputs))]
        peer = {}
        for opset in PEER_OPSETS:
            path = os.path.join(out_dir, "%s.peer%d.onnx" % (name, opset))
            try:
                with torch.no_grad():
                    torch.onnx.export(model, tuple(x.clone() for x in inputs), path, opset_version=opset,
                                      input_names=input_names, output_names=output_names,
                                      dynamic_axes={n: {0: "batch"} for n in input_names + output_names})
                peer[str(opset)] = None
            except Exception as error:  # noqa: BLE001 - any failure means the peer cannot export it
                peer[str(opset)] = (type(error).__name__ + ": " + str(error)).splitlines()[0][:300]
                if os.path.exists(path):
                    os.remove(path)
        manifest.append({"name": name, "family": family, "input_shapes": with_batch(shapes, 2), "peer": peer})
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(6, 4)

    def forward(self, image, features):
        pooled = self.conv(image).mean((2, 3))
        return pooled + self.fc(features), image.flatten(1).amax(1)


class IntArgument(nn.Module):
    def forward(self, x: torch.Tensor, times: int):
        return x * times


class Branching(nn.Module):
    def forward(self, x):
        if bool(x.sum() > 0):
            return x * 2
        return x - 1


def fixtures(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    model = TwoInputs().eval()
    inputs = seeded([[2, 3, 8, 8], [2, 6]], 1)
    inputs_other = seeded([[3, 3, 8, 8], [3, 6]], 2)
    with torch.no_grad():
        torch.jit.save(torch.jit.trace(model, tuple(inputs)), os.path.join(out_dir, "two_inputs.pt"))
        torch.save({"inputs": inputs, "outputs": flatten(model(*inputs)), "inputs_other": inputs_other,
                    "outputs_other": flatten(model(*inputs_other))}, os.path.join(out_dir, "two_inputs.io.pt"))
    torch.jit.save(torch.jit.script(IntArgument()), os.path.join(out_dir, "int_argument.pt"))
    torch.jit.save(torch.jit.script(Branching()), os.path.join(out_dir, "branching.pt"))
    torch.save({"weight": torch.ones(2)}, os.path.join(out_dir, "not_torchscript.pt"))


if __name__ == "__main__":
    if sys.argv[1] == "--fixtures":
        fixtures(sys.argv[2])
    else:
        main(sys.argv[1], set(sys.argv[2:]))
