"""Python definitions of the custom architectures, written from their documented description.

They are the oracle for the C++ simple_cnn and tiny_net: same parameter names, same numerics.
"""
import torch
from torch import nn
import torch.nn.functional as F


class SimpleCNN(nn.Module):
    def __init__(self, num_classes=2, input_size=224, dropout=0.5):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.conv3 = nn.Conv2d(64, 128, 3, padding=1)
        side = input_size // 8
        self.fc1 = nn.Linear(128 * side * side, 256)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(256, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.max_pool2d(F.relu(self.conv3(x)), 2)
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc2(self.dropout(x))


class TinyNet(nn.Module):
    def __init__(self, num_classes=2, input_size=224):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 5, padding=2)
        self.conv2 = nn.Conv2d(16, 32, 5, padding=2)
        side = input_size // 4
        self.fc = nn.Linear(32 * side * side, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(torch.flatten(x, 1))


CUSTOM = {"simple_cnn": SimpleCNN, "tiny_net": TinyNet}


def build(architecture, num_classes=2, input_size=224):
    """The torchvision model, or the custom one, by zoo name."""
    if architecture in CUSTOM:
        return CUSTOM[architecture](num_classes=num_classes, input_size=input_size)
    import torchvision
    return getattr(torchvision.models, architecture)(num_classes=num_classes)
