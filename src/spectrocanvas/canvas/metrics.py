"""Image metrics in pure torch (tensor in, tensor out)."""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F


@functools.lru_cache(maxsize=8)
def _gaussian_1d_cpu(sigma: float, radius: int) -> torch.Tensor:
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    return kernel / kernel.sum()


def ssim(a: torch.Tensor, b: torch.Tensor, *, data_range: float = 1.0, sigma: float = 1.5,
         k1: float = 0.01, k2: float = 0.03) -> torch.Tensor:
    """Mean structural similarity of two images, batched: (..., H, W) × (..., H, W) → (...).

    The Gaussian-weighted SSIM of Wang et al. (2004) as scikit-image computes it with
    ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False``: an 11 × 11 Gaussian
    window (truncated at 3.5 σ), population covariances, and the mean taken over the pixels
    whose window lies wholly inside the image (a border of 5 pixels is left out). Computed
    in float64 and returned in the dtype of ``a``.
    """
    if a.shape != b.shape:
        raise ValueError(f"ssim needs images of one shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    radius = int(3.5 * sigma + 0.5)
    height, width = a.shape[-2:]
    if height < 2 * radius + 1 or width < 2 * radius + 1:
        raise ValueError(f"ssim needs images of at least {2 * radius + 1} × {2 * radius + 1} pixels")
    batch_shape = a.shape[:-2]
    x = a.reshape(-1, 1, height, width).double()
    y = b.reshape(-1, 1, height, width).double()
    kernel = _gaussian_1d_cpu(float(sigma), radius).to(x.device)

    def blur(image: torch.Tensor) -> torch.Tensor:
        # "valid" separable filtering: exactly the pixels skimage keeps after cropping.
        image = F.conv2d(image, kernel.view(1, 1, -1, 1))
        return F.conv2d(image, kernel.view(1, 1, 1, -1))

    stacked = blur(torch.cat([x, y, x * x, y * y, x * y], dim=1).reshape(-1, 1, height, width))
    stacked = stacked.reshape(x.shape[0], 5, *stacked.shape[-2:])
    mu_x, mu_y, xx, yy, xy = stacked.unbind(1)
    var_x = xx - mu_x * mu_x
    var_y = yy - mu_y * mu_y
    cov = xy - mu_x * mu_y
    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))
    return index.mean(dim=(-2, -1)).reshape(batch_shape).to(a.dtype)


SSIM_WIDE = 4096
"""Pictures wider than this are scored by :func:`ssim_long` in pieces (the blur's buffers, about
90 bytes per pixel, grow with the width); narrower ones in one piece, as always."""
SSIM_BLOCK = 512
"""Columns per piece of a wide picture."""


def ssim_long(a: torch.Tensor, b: torch.Tensor, *, block: int = SSIM_BLOCK, sigma: float = 1.5) -> torch.Tensor:
    """:func:`ssim` of two (H, W) pictures, in pieces of ``block`` columns for pictures wider than
    :data:`SSIM_WIDE`: each piece is taken with the 2 · radius columns its windows need, and the mean
    is weighted by valid columns, so the result is the whole picture's SSIM (up to rounding) in
    memory that follows the block."""
    radius = int(3.5 * sigma + 0.5)
    width = a.shape[-1]
    valid = width - 2 * radius
    if width <= SSIM_WIDE or valid <= 0:
        return ssim(a, b, sigma=sigma)
    total = torch.zeros((), dtype=torch.float64)
    for first in range(0, valid, block):
        count = min(block, valid - first)
        piece = slice(first, first + count + 2 * radius)
        total += ssim(a[..., piece], b[..., piece], sigma=sigma).double() * count
    return (total / valid).to(a.dtype)


def fidelity(target: torch.Tensor, heard: torch.Tensor) -> dict[str, float]:
    """How well ``heard`` (H, W) reproduces ``target`` (H, W): SSIM and mean absolute error."""
    return {"ssim": float(ssim_long(target.float(), heard.float())),
            "mean_abs_error": float((target.float() - heard.float()).abs().mean())}
