"""torchvision's evaluation transform of one image, written as raw little-endian float32 (C, H, W).

usage: eval_transform.py IMAGE OUTPUT [RESIZE CROP]
"""
import sys

import numpy as np
import torch
from PIL import Image
from torchvision import transforms


def main():
    image_path, output_path = sys.argv[1], sys.argv[2]
    resize, crop = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) > 4 else (256, 224)
    transform = transforms.Compose([
        transforms.Resize(resize),
        transforms.CenterCrop(crop),
        transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    with open(image_path, "rb") as f:
        image = Image.open(f).convert("RGB")  # as torchvision's ImageFolder loads it
    tensor = transform(image)
    tensor.numpy().astype("<f4").tofile(output_path)
    print(" ".join(str(d) for d in tensor.shape))


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
