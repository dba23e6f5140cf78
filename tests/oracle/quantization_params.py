"""Static quantization parameters computed with numpy from dumped float32 tensors.

usage: quantization_params.py ACTIVATIONS PERCENTILE WEIGHTS OUT_CHANNELS

ACTIVATIONS and WEIGHTS are raw little-endian float32 files (WEIGHTS in [out_channels, ...] order).
Prints JSON: the uint8 scale and zero point of the activations' full range (0 always included),
their PERCENTILE-th and (100 - PERCENTILE)-th percentiles (the smallest value with at least that
share of the values at or below it: numpy's inverted_cdf), and the symmetric int8 scale of each
output channel of the weights.
"""
import json
import sys

import numpy as np


def main():
    activations = np.fromfile(sys.argv[1], dtype="<f4").astype(np.float64)
    percentile = float(sys.argv[2])
    weights = np.fromfile(sys.argv[3], dtype="<f4").astype(np.float64).reshape(int(sys.argv[4]), -1)

    low = min(activations.min(), 0.0)
    high = max(activations.max(), 0.0)
    scale = np.float32((high - low) / 255.0)
    zero_point = int(np.clip(np.rint(-low / np.float64(scale)), 0, 255))
    absmax = np.abs(weights).max(axis=1)
    weight_scales = np.where(absmax > 0, absmax / 127.0, 1.0)
    print(json.dumps({
        "min": float(activations.min()),
        "max": float(activations.max()),
        "scale": float(scale),
        "zero_point": zero_point,
        "percentile_low": float(np.percentile(activations, 100.0 - percentile, method="inverted_cdf")),
        "percentile_high": float(np.percentile(activations, percentile, method="inverted_cdf")),
        "weight_scales": [float(s) for s in weight_scales],
    }))


if __name__ == "__main__":
    main()
