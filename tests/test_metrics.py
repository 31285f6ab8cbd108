"""SSIM in torch against scikit-image's Gaussian-weighted SSIM."""

from __future__ import annotations

import pytest
import torch

from spectrocanvas.canvas.metrics import ssim

skimage_metrics = pytest.importorskip("skimage.metrics")


def skimage_ssim(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(skimage_metrics.structural_similarity(
        a.double().numpy(), b.double().numpy(), data_range=1.0, gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False))


def _pairs() -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(3)
    noise_a = torch.rand(48, 70, generator=g)
    noise_b = torch.rand(48, 70, generator=g)
    rows, cols = torch.meshgrid(torch.linspace(0, 1, 64), torch.linspace(0, 1, 96), indexing="ij")
    structured = 0.5 + 0.4 * torch.sin(12 * rows) * torch.cos(7 * cols)
    structured[20:40, 30:60] = 0.9  # an edge-bounded block
    degraded = (structured + 0.05 * torch.randn(structured.shape, generator=g)).clamp(0, 1)
    skimage_data = pytest.importorskip("skimage.data")
    camera = torch.from_numpy(skimage_data.camera()[100:228, 150:310] / 255.0).float()
    darker = (camera * 0.7 + 0.1 * torch.rand(camera.shape, generator=g)).clamp(0, 1)
    return [("independent noise", noise_a, noise_b),
            ("noise vs itself plus noise", noise_a, (noise_a + 0.1 * noise_b).clamp(0, 1)),
            ("structured vs noisy", structured, degraded),
            ("photograph vs darker", camera, darker)]


@pytest.mark.parametrize("name,a,b", _pairs(), ids=[p[0] for p in _pairs()])
def test_matches_skimage(name: str, a: torch.Tensor, b: torch.Tensor) -> None:
    assert abs(float(ssim(a, b)) - skimage_ssim(a, b)) < 1e-4


def test_identical_images_score_one_and_batches_are_independent() -> None:
    g = torch.Generator().manual_seed(0)
    a = torch.rand(2, 3, 32, 40, generator=g)
    b = torch.rand(2, 3, 32, 40, generator=g)
    assert torch.allclose(ssim(a, a), torch.ones(2, 3), atol=1e-6)
    batched = ssim(a, b)
    assert batched.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            assert abs(float(batched[i, j]) - skimage_ssim(a[i, j], b[i, j])) < 1e-4
    assert torch.allclose(ssim(b, a), batched)  # symmetric


def test_rejects_mismatched_or_tiny_images() -> None:
    with pytest.raises(ValueError):
        ssim(torch.zeros(20, 20), torch.zeros(20, 21))
    with pytest.raises(ValueError):
        ssim(torch.zeros(10, 40), torch.zeros(10, 40))
