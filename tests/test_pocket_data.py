"""Pocket data generators: shapes, value ranges, determinism by seed, class balance, and the
properties each class is meant to have."""

import pytest
import torch

from spectrocanvas.canvas.analysis import audio_to_canvas
from spectrocanvas.pairs.pocket.spec import HEIGHT, POCKET, SAMPLES, WIDTH, from_model, to_model
from spectrocanvas.pairs.pocket.training import data, shapes, sounds
from spectrocanvas.pairs.pocket.vocab import IMAGE_CLASSES, SOUND_CLASSES


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_pocket_spec_is_a_small_canvas_of_two_seconds():
    assert (POCKET.n_fft - POCKET.hop_length) % 2 == 0
    assert POCKET.frames_per_second == 64
    assert (HEIGHT, WIDTH, SAMPLES) == (32, 128, 32000)
    canvas = audio_to_canvas(torch.zeros(SAMPLES) + 1e-3 * torch.randn(SAMPLES, generator=gen(0)), POCKET)
    assert canvas.shape == (32, 128)


def test_model_space_round_trip():
    c = torch.rand(2, 32, 128, generator=gen(0))
    assert torch.allclose(from_model(to_model(c)), c, atol=1e-6)
    assert to_model(c).min() >= -1 and to_model(c).max() <= 1


@pytest.mark.parametrize("label", range(len(SOUND_CLASSES)))
def test_each_sound_is_bounded_finite_and_seeded(label):
    a = sounds.synthesise(label, gen(3))
    assert a.shape == (SAMPLES,) and a.dtype == torch.float32
    assert torch.isfinite(a).all() and a.abs().max() <= 1.0 and a.abs().max() > 0.05
    assert torch.equal(a, sounds.synthesise(label, gen(3)))
    assert not torch.equal(a, sounds.synthesise(label, gen(4)))


def _mean_canvas(name: str, n: int = 6) -> torch.Tensor:
    label = SOUND_CLASSES.index(name)
    return torch.stack([audio_to_canvas(sounds.synthesise(label, gen(s)), POCKET) for s in range(n)]).mean(0)


def test_sound_classes_look_as_designed():
    rows = lambda c: c.mean(1)  # noqa: E731  (row means; row 0 is the top = high frequencies)
    drone, noise = _mean_canvas("drone"), _mean_canvas("noise")
    assert rows(drone)[16:].mean() > rows(drone)[:16].mean() + 0.2  # a low sound
    # noise bursts are broadband: their loud columns are loud in almost every row
    loud = noise[:, noise.mean(0) > 0.4]
    assert loud.shape[1] > 0 and (loud > 0.3).float().mean() > 0.9
    # beeps are a single pitch: one narrow band holds the peak of every sample
    single = audio_to_canvas(sounds.synthesise(SOUND_CLASSES.index("beeps"), gen(0)), POCKET)
    assert (single.amax(1) > 0.6).sum() <= 6


def test_polygon_sdf_of_a_square():
    square = torch.tensor([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
    points = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.5, 0.0], [1.0, 0.3]])
    assert torch.allclose(shapes.polygon_sdf(points, square), torch.tensor([-1.0, 1.0, -0.5, 0.0]), atol=1e-6)


@pytest.mark.parametrize("label", range(len(IMAGE_CLASSES)))
def test_each_shape_lies_on_the_canvas(label):
    fill = shapes.coverage(shapes.shape_distance(label, gen(label)))
    assert fill.shape == (HEIGHT, WIDTH)
    assert 40 < fill.sum() < 0.5 * HEIGHT * WIDTH
    assert fill[:, 0].max() == 0 and fill[:, -1].max() == 0  # never cut by the canvas's sides
    assert torch.equal(fill, shapes.coverage(shapes.shape_distance(label, gen(label))))


def test_shapes_differ_in_how_much_of_their_box_they_fill():
    def ratio(name: str) -> float:
        values = []
        for s in range(8):
            fill = shapes.coverage(shapes.shape_distance(IMAGE_CLASSES.index(name), gen(s))) > 0.5
            rows, cols = fill.any(1).nonzero(), fill.any(0).nonzero()
            box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
            values.append(float(fill.sum() / box))
        return sum(values) / len(values)

    assert ratio("square") > ratio("circle") > ratio("heart") > ratio("triangle") > ratio("star")
    assert ratio("circle") > 0.7 and ratio("star") < 0.45  # π/4 of the box, and a thin star


@pytest.fixture(scope="module")
def bank():
    return data.SoundBank(7, size=64)


def test_sound_bank_entries_do_not_depend_on_what_else_was_made(bank):
    fresh = data.SoundBank(7, size=64)
    one = fresh.get(torch.tensor([5]))
    bank.get(torch.tensor([3, 9, 5, 12]))
    assert torch.allclose(bank.get(torch.tensor([5])), one, atol=1e-3)
    assert torch.equal(bank.label(torch.tensor([5, 8, 15])), torch.tensor([5, 0, 7]))


@pytest.mark.parametrize("maker", ["image", "sound", "judged_image"])
def test_batches_are_ranged_balanced_and_seeded(bank, maker):
    make = {"image": data.image_batch, "sound": data.sound_batch, "judged_image": data.judged_image_batch}[maker]
    x, y = make(bank, gen(11), 16)
    assert x.shape == (16, 1, HEIGHT, WIDTH) and y.shape == (16,) and y.dtype == torch.int64
    assert x.min() >= 0 and x.max() <= 1 and torch.isfinite(x).all()
    assert torch.equal(torch.bincount(y, minlength=8), torch.full((8,), 2))
    x2, y2 = make(bank, gen(11), 16)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    x3, _ = make(bank, gen(12), 16)
    assert not torch.equal(x, x3)


def test_image_styles_draw_the_shape(bank):
    for style in data.STYLES:
        canvas = data.shape_canvas(IMAGE_CLASSES.index("square"), bank, gen(5), style=style)
        fill = shapes.coverage(shapes.shape_distance(IMAGE_CLASSES.index("square"), gen(5)))
        assert canvas.shape == (HEIGHT, WIDTH) and 0 <= canvas.min() and canvas.max() <= 1
        inside, outside = canvas[fill > 0.99].mean(), canvas[fill < 0.01].mean()
        if style in ("filled", "textured"):
            assert inside > outside + 0.1, style
        if style == "carved":
            assert outside > inside, style


def test_stream_generators_are_independent_per_step_and_stream():
    a = torch.rand(4, generator=data.stream_generator(0, "image", 5))
    assert torch.equal(a, torch.rand(4, generator=data.stream_generator(0, "image", 5)))
    for other in (data.stream_generator(0, "image", 6), data.stream_generator(0, "audio", 5),
                  data.stream_generator(1, "image", 5)):
        assert not torch.equal(a, torch.rand(4, generator=other))


def test_vocoder_round_trip_keeps_a_sound_recognisable(bank):
    clean = bank.get(torch.tensor([0, 1, 2, 3]))
    heard = data.vocoder_round_trip(clean)
    assert heard.shape == clean.shape
    assert (heard - clean).abs().mean() < 0.12


def test_judged_sound_batch_is_ranged_and_balanced(bank):
    judged = data.JudgedSoundBank(bank)
    x, y = data.judged_sound_batch(judged, gen(2), 8)
    assert x.shape == (8, 1, HEIGHT, WIDTH) and 0 <= x.min() and x.max() <= 1
    assert torch.equal(torch.bincount(y, minlength=8), torch.ones(8, dtype=torch.int64))
