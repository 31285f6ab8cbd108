"""Windows over a wide latent (MultiDiffusion): where they go, how they blend, what they cost."""

import pytest
import torch

from spectrocanvas.diffusion.windows import blend_weights, grid_offset, window_starts, windowed
from spectrocanvas.errors import SpectrocanvasError


def test_window_starts_cover_the_canvas_on_a_shifted_grid():
    assert window_starts(512, 128, 64) == [0, 64, 128, 192, 256, 320, 384]
    assert window_starts(512, 128, 64, offset=10) == [0, 10, 74, 138, 202, 266, 330, 384]
    assert window_starts(128, 128, 64, offset=10) == [0]
    assert window_starts(300, 128, 100) == [0, 100, 172]  # the last one flush with the right edge
    assert window_starts(256, 128, 64, loop=True, offset=70) == [6, 70, 134, 198]  # around the width
    for width, stride, offset, loop in ((512, 64, 10, False), (300, 37, 5, False), (256, 64, 70, True)):
        starts = window_starts(width, 128, stride, offset=offset, loop=loop)
        covered = {(s + j) % width for s in starts for j in range(128)}
        assert covered == set(range(width))
        gaps = [b - a for a, b in zip(starts, starts[1:])]
        assert max(gaps) <= stride  # every column lies inside at least two windows' reach of overlap
    with pytest.raises(SpectrocanvasError, match="narrower than one window"):
        window_starts(100, 128, 64)
    with pytest.raises(SpectrocanvasError, match="stride"):
        window_starts(512, 128, 129)


def test_the_grid_moves_from_step_to_step():
    offsets = {grid_offset(torch.tensor(t), 64) for t in range(999, 0, -20)}
    assert len(offsets) > 25 and all(0 <= o < 64 for o in offsets)
    assert grid_offset(torch.tensor([500, 500]), 64) == grid_offset(500, 64)  # per-sample timesteps: the first


def test_blend_weights_are_a_positive_bump():
    w = blend_weights(128)
    assert w.shape == (128,) and (w > 0).all() and torch.allclose(w, w.flip(0))
    assert w[63] > 0.99 and w[0] < 0.02


def test_at_the_native_width_the_model_is_called_as_it_is():
    calls = []

    def model(x, t, c):
        calls.append(x.shape)
        return torch.sin(x * 3) + c.mean()

    x, c = torch.randn(2, 4, 8, 16), torch.randn(2, 5, 7)
    assert torch.equal(windowed(model, window=16, stride=8)(x, torch.tensor(5), c), model(x, torch.tensor(5), c))
    assert calls == [(2, 4, 8, 16), (2, 4, 8, 16)]


@pytest.mark.parametrize("width, stride, loop", [(300, 32, False), (300, 128, False), (256, 64, True),
                                                 (128, 64, True), (1000, 100, False)])
def test_a_model_without_context_is_unchanged_by_the_windows(width, stride, loop):
    """A pointwise model (each column's estimate its own, whatever the window) gives every window the
    same estimate of a column, so the blend equals one call on the whole latent; the per-sample
    conditioning and timesteps must follow their sample through the window batches."""
    def model(x, t, c):
        return torch.tanh(x) * c.mean(dim=(1, 2)).view(-1, 1, 1, 1) + t.view(-1, 1, 1, 1)

    x = torch.randn(3, 2, 4, width)
    cond, t = torch.randn(3, 5, 6), torch.tensor([3.0, 7.0, 11.0])
    out = windowed(model, window=128, stride=stride, loop=loop)(x, t, cond)
    torch.testing.assert_close(out, model(x, t, cond), rtol=1e-5, atol=1e-6)


def test_cost_grows_linearly_with_the_width():
    """Columns the model evaluates per call, at the default half-window stride: two per canvas column."""
    evaluated = {}
    for width in (256, 512, 1024, 2048):
        seen = []
        windowed(lambda x, t, c: seen.append(x.shape[0] * x.shape[-1]) or x, window=128, stride=64)(
            torch.zeros(1, 1, 2, width), torch.tensor(0), torch.zeros(1, 1, 1))
        evaluated[width] = sum(seen)
    per_column = [evaluated[w] / w for w in evaluated]
    assert all(1.5 <= p <= 2.5 for p in per_column), per_column


def test_seam_ratio_sees_a_step_at_the_joins_and_none_in_smooth_canvases():
    from types import SimpleNamespace

    from spectrocanvas.diffusion.ddim import ClippedDDIM
    from spectrocanvas.generate.resolve import resolve_settings
    from spectrocanvas.measure.seams import chance_ratios, column_change, join_columns, seam_ratio
    from spectrocanvas.pairs.pocket.pair import ENTRY
    from spectrocanvas.pairs.pocket.schedule import scheduler_config

    settings = resolve_settings({"image_prompt": "star", "audio_prompt": "rain", "seconds": 6, "steps": 5},
                                pair="pocket")
    pair = SimpleNamespace(entry=ENTRY, scheduler=lambda name: ClippedDDIM(scheduler_config()))
    joins = join_columns(settings, pair)
    assert len(joins) == 5 and all(0 < j < 384 for columns in joins for j in columns)
    canvases = torch.rand(4, 32, 384, generator=torch.Generator().manual_seed(0)) * 0.1
    change = column_change(canvases)
    assert abs(seam_ratio(change, joins) - 1) < 0.2  # noise: no seams
    stepped = canvases.clone()
    for j in joins[0]:
        stepped[..., j:] += 0.5  # a step where the first step's windows joined
    steps = column_change(stepped)
    assert seam_ratio(steps, joins[:1]) > 5 and seam_ratio(steps, joins[:1]) > float(chance_ratios(steps, joins[:1]).max())
