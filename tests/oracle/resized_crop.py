"""torchvision's RandomResizedCrop for a given box: PIL decode, crop, bilinear resize, written as
raw uint8 RGB (H, W, C).

usage: resized_crop.py IMAGE OUTPUT TOP LEFT HEIGHT WIDTH SIZE
"""
import sys

import numpy as np
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F


def main():
    image_path, output_path = sys.argv[1], sys.argv[2]
    top, left, height, width, size = (int(arg) for arg in sys.argv[3:8])
    with open(image_path, "rb") as f:
        image = Image.open(f).convert("RGB")  # as torchvision's ImageFolder loads it
    crop = F.resized_crop(image, top, left, height, width, [size, size], InterpolationMode.BILINEAR)
    np.asarray(crop, dtype=np.uint8).tofile(output_path)
    print(crop.size[0], crop.size[1])


if __name__ == "__main__":
    main()
