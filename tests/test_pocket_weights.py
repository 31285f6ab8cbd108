"""The shipped pocket weights (``src/spectrocanvas/pairs/pocket/weights/``; skipped where they are
absent): they load and generate offline, deterministically; the judges are right on freshly
synthesised data; each model alone draws its own class; and the composition succeeds (both
judges right) far more often than a single model can, on pairs covering every class.

The quality floors draw dozens of samples with the full-size pocket models (about a minute on 2
cores): they are marked ``slow`` and run by ``make test-slow`` (CI runs both targets)."""

import pytest
import torch
from pocket_tiny import pocket_canvases

from spectrocanvas.generate.prompt_files import PromptPair
from spectrocanvas.generate.runs import load_pair
from spectrocanvas.measure.study import study_records
from spectrocanvas.pairs.interface import Runtime
from spectrocanvas.pairs.pocket.judges import PocketJudges
from spectrocanvas.pairs.pocket.networks import KINDS
from spectrocanvas.pairs.pocket.training import data
from spectrocanvas.pairs.pocket.weights import WEIGHTS_DIR, WEIGHTS_ENV, load_pocket, weights_file

pytestmark = pytest.mark.skipif(not all(weights_file(k).is_file() for k in KINDS),
                                reason=f"pocket weights not exported to {WEIGHTS_DIR} yet")

FRESH_SEED = 424242  # data seed no training run uses
JUDGE_FLOOR = 0.95   # the target; measured 1.00 / 1.00 here, 0.992 / 0.996 on 512 of seed 271828
ALONE_FLOOR = 0.85   # measured 0.94 (image) / 1.00 (audio) on these 16 samples; 0.953 / 0.996 over all pairs
SUCCESS_FLOOR = 0.375  # measured 0.47 on these 32 samples (all pairs: 0.65); a single model: ~0.1


@pytest.fixture(autouse=True)
def shipped(monkeypatch):
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)


@pytest.fixture(scope="module")
def models():
    return load_pocket(judges=True)


def test_shipped_weights_are_small_and_recorded(models):
    total = sum(weights_file(k).stat().st_size for k in KINDS)
    assert total <= 20e6
    for kind in KINDS:
        assert models.record[kind]["steps"] > 0 and "commands" in models.record[kind]


@pytest.mark.slow
def test_generates_offline_and_deterministically():
    a = pocket_canvases("triangle", "bell", [0, 1, 2, 3])
    assert a.shape == (4, 32, 128) and torch.isfinite(a).all()
    assert torch.equal(a, pocket_canvases("triangle", "bell", [0, 1, 2, 3]))
    assert not torch.equal(a[:1], pocket_canvases("triangle", "bell", [4]))


@pytest.mark.slow
def test_image_judge_on_fresh_shapes(models):
    bank = data.SoundBank(FRESH_SEED, 256)
    x, y = data.image_batch(bank, data.stream_generator(FRESH_SEED, "image", 0), 128)
    assert (models.image_judge.predict(x) == y).float().mean() >= JUDGE_FLOOR


@pytest.mark.slow
def test_sound_judge_on_fresh_round_tripped_sounds(models):
    judged = data.JudgedSoundBank(data.SoundBank(FRESH_SEED, 128))
    x, y = data.judged_sound_batch(judged, data.stream_generator(FRESH_SEED, "audio", 0), 64)
    assert (models.audio_judge.predict(x) == y).float().mean() >= JUDGE_FLOOR


FIXED_PAIRS = [("triangle", "bell"), ("circle", "rain"), ("square", "drone"), ("cross", "chirps"),
               ("heart", "siren"), ("star", "chord"), ("moon", "beeps"), ("arrow", "noise")]
"""Every class of both vocabularies once."""


def _judged(method: str, seed: int, n: int) -> list[dict]:
    """Every fixed pair drawn n times in memory (pair k from seeds seed + k·n …) and judged."""
    rows = [PromptPair(where=str(k), options={"image_prompt": i, "audio_prompt": a, "seed": seed + k * n})
            for k, (i, a) in enumerate(FIXED_PAIRS)]
    return study_records(load_pair(Runtime(pair="pocket")), PocketJudges.load(), rows, method=method,
                         options={"n": n})


@pytest.mark.slow
def test_each_model_alone_draws_its_own_class():
    image_only, audio_only = _judged("image-only", 100, 2), _judged("audio-only", 100, 2)
    assert sum(r["image_right"] for r in image_only) / len(image_only) >= ALONE_FLOOR
    assert sum(r["sound_right"] for r in audio_only) / len(audio_only) >= ALONE_FLOOR


@pytest.mark.slow
def test_composed_success_on_fixed_pairs():
    """Fails if the composition stops working: both judges right far more often than the best
    single model manages (a single model's success is about its own rate × 1/8)."""
    composed = _judged("denoise", 0, 4)
    assert sum(r["both_right"] for r in composed) / len(composed) >= SUCCESS_FLOOR


@pytest.mark.slow
def test_the_joins_of_a_long_canvas_are_no_seams():
    """Every class once at 8 s: the change from column to column where windows joined is no larger
    than elsewhere, beyond what random columns give by chance (their 95th percentile)."""
    from spectrocanvas.generate.drawing import draw_canvases
    from spectrocanvas.generate.resolve import resolve_settings
    from spectrocanvas.measure.seams import chance_ratios, column_change, join_columns, seam_ratio

    pair = load_pair(Runtime(pair="pocket"))
    settings = [resolve_settings({"image_prompt": i, "audio_prompt": a, "seconds": 8}, pair="pocket")
                for i, a in FIXED_PAIRS]
    change = column_change(draw_canvases(settings, list(range(len(settings))), pair)[1])
    joins = join_columns(settings[0], pair)
    assert seam_ratio(change, joins) <= float(chance_ratios(change, joins).quantile(0.95))
