"""Small building blocks: Conv-BN-ReLU and a flatten-Linear-BN-ReLU block."""
from __future__ import annotations

from torch import Tensor, nn


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int = 3, padding: int | None = None,
                 relu: bool = True) -> nn.Sequential:
    """Conv (stride 1, 'same' padding by default, no bias) -> BatchNorm2d -> ReLU."""
    padding = kernel_size // 2 if padding is None else padding
    layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding, bias=False),
                               nn.BatchNorm2d(out_channels)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class LinearBlock(nn.Module):
    """Fully connected layer on a pooled ``[N, C, k, k]`` map: flatten -> Linear(C*k*k, out) -> BN1d -> ReLU."""

    def __init__(self, in_channels: int, out_features: int, input_size: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_channels * input_size * input_size, out_features, bias=False)
        self.bn = nn.BatchNorm1d(out_features)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.bn(self.linear(x.flatten(1))))
