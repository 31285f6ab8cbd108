"""CLIP and CLAP scores on tiny random models saved in the hub layout, against direct
computations with the real transformers processors (one window / one clip at a time)."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from scorer_models import make_tiny_clap, make_tiny_clip  # noqa: E402

from spectrocanvas.errors import SpectrocanvasError  # noqa: E402
from spectrocanvas.pairs.clip_clap import (  # noqa: E402
    CLAP_PRESET,
    CLIP_PRESET,
    ClapScorer,
    ClipScorer,
    cut_windows,
    peak_normalise,
    resample_to,
    window_starts,
)
from spectrocanvas.pairs.hub import ModelNotFoundError  # noqa: E402

PROMPTS = ["a photo of a dog", "castle bells", "a cat"]


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory):
    return make_tiny_clip(tmp_path_factory.mktemp("clip"))


@pytest.fixture(scope="module")
def clap_folder(tmp_path_factory):
    return make_tiny_clap(tmp_path_factory.mktemp("clap"))


@pytest.fixture(scope="module")
def clip_scorer(clip_folder):
    return ClipScorer(str(clip_folder), device="cpu")


@pytest.fixture(scope="module")
def clap_scorer(clap_folder):
    return ClapScorer(str(clap_folder), device="cpu")


# ---- windows ---------------------------------------------------------------------------------
@pytest.mark.parametrize("width, count, last", [(256, 1, 0), (1024, 25, 768), (992, 24, 736),
                                                (1000, 24, 736), (300, 2, 32), (100, 1, 0)])
def test_window_starts_follow_the_official_unfold(width, count, last):
    starts = window_starts(width, 256, 32)
    assert len(starts) == count and starts[-1] == last
    assert starts == list(range(0, max(width - 256, 0) + 1, 32))
    if width >= 256:  # torch's unfold, the official code, gives the same count
        assert torch.zeros(1, 256, width).unfold(2, 256, 32).shape[2] == count


def test_cut_windows_are_the_canvas_slices():
    canvas = torch.rand(256, 1000)
    windows = cut_windows(canvas)
    assert windows.shape == (24, 256, 256)  # the last 8 columns are in no window
    for index, start in enumerate(window_starts(1000)):
        assert torch.equal(windows[index], canvas[:, start:start + 256])
    narrow = cut_windows(canvas[:, :100])
    assert narrow.shape == (1, 256, 256)
    assert torch.equal(narrow[0, :, :100], canvas[:, :100]) and not narrow[0, :, 100:].any()


# ---- CLIP preprocessing against the processor ------------------------------------------------
def _uint8(window: torch.Tensor) -> torch.Tensor:
    return window.clamp(0, 1).mul(255).round().to(torch.uint8)


def _smooth_canvas(height: int, width: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    noise = torch.rand(1, 1, height + 8, width + 8, generator=generator)
    return torch.nn.functional.avg_pool2d(noise, 9, stride=1)[0, 0].sub(0.3).mul(2.5).clamp(0, 1)


@pytest.mark.parametrize("image_size, crop_size, patch", [(224, 224, 32), (40, 32, 16), (32, 32, 16)])
def test_preprocess_matches_the_clip_processor(tmp_path, image_size, crop_size, patch):
    from transformers import CLIPProcessor

    folder = make_tiny_clip(tmp_path, image_size=image_size, crop_size=crop_size, patch_size=patch)
    scorer = ClipScorer(str(folder), device="cpu")
    processor = CLIPProcessor.from_pretrained(str(folder))
    for window in (_smooth_canvas(256, 256, 1), torch.rand(256, 256, generator=torch.Generator().manual_seed(2))):
        ours = scorer.preprocess(window[None])
        theirs = processor(images=[_uint8(window).expand(3, -1, -1)], return_tensors="pt")["pixel_values"]
        assert ours.shape == theirs.shape == (1, 3, crop_size, crop_size)
        difference = (ours - theirs).abs()
        one_grey_level = 1 / 255 / min(processor.image_processor.image_std)
        assert difference.max() <= one_grey_level + 1e-5          # PIL's fixed-point rounding, at most
        assert (difference > 1e-5).float().mean() < 0.005          # on a handful of pixels


# ---- CLIP score against a direct computation -------------------------------------------------
def _direct_clip(folder, canvas: torch.Tensor, prompt: str) -> tuple[list[float], float]:
    """One window at a time through the real CLIPProcessor and CLIPModel (the official recipe)."""
    from transformers import CLIPModel, CLIPProcessor

    model, processor = CLIPModel.from_pretrained(str(folder)).eval(), CLIPProcessor.from_pretrained(str(folder))
    cosines = []
    for start in range(0, canvas.shape[1] - 256 + 1, 32):
        window = _uint8(canvas[:, start:start + 256]).expand(3, -1, -1)
        inputs = processor(text=[prompt], images=[window], return_tensors="pt", padding=True)
        with torch.no_grad():
            out = model(**inputs)
        cosines.append(float((out.image_embeds * out.text_embeds).sum()))  # both unit length
    return cosines, max(0.0, 100 * float(np.mean(cosines)))


def test_clip_score_equals_the_window_by_window_computation(clip_folder, clip_scorer):
    canvases = [_smooth_canvas(256, 1024, 3), _smooth_canvas(256, 992, 4), torch.rand(256, 300)]
    scores = clip_scorer.score(canvases, PROMPTS)
    similarities = clip_scorer.window_similarities(canvases, PROMPTS)
    assert scores.shape == (3,) and [len(s) for s in similarities] == [25, 24, 2]
    for canvas, prompt, score, windows in zip(canvases, PROMPTS, scores, similarities):
        cosines, expected = _direct_clip(clip_folder, canvas, prompt)
        assert windows.tolist() == pytest.approx(cosines, abs=1e-6)
        assert float(score) == pytest.approx(expected, abs=1e-4)
    assert (scores > 0).all()  # the random model's cosines are positive: the comparison is not 0 == 0


def test_clip_score_is_batched_consistently(clip_folder):
    canvases = torch.stack([_smooth_canvas(256, 512, seed) for seed in range(3)])
    together = ClipScorer(str(clip_folder), device="cpu", batch_size=7).score(canvases, PROMPTS)
    alone = torch.cat([ClipScorer(str(clip_folder), device="cpu").score(c[None], p) for c, p in zip(canvases, PROMPTS)])
    assert torch.allclose(together, alone, atol=1e-4)
    same_prompt = ClipScorer(str(clip_folder), device="cpu").score(canvases, "a cat")
    assert torch.allclose(same_prompt[2], together[2], atol=1e-4)


def test_clip_score_is_clipped_at_zero(tmp_path, clip_scorer):
    flipped = ClipScorer(str(make_tiny_clip(tmp_path, negate_text=True)), device="cpu")
    canvas = [_smooth_canvas(256, 384, 5)]
    positive = clip_scorer.window_similarities(canvas, "a dog")[0]
    negative = flipped.window_similarities(canvas, "a dog")[0]
    assert torch.allclose(negative, -positive, atol=1e-6) and negative.mean() < 0
    assert flipped.score(canvas, "a dog").tolist() == [0.0]


def test_clip_rejects_bad_input(clip_scorer):
    with pytest.raises(SpectrocanvasError, match="prompts"):
        clip_scorer.score(torch.rand(2, 256, 256), ["only one", "two", "three"])
    with pytest.raises(SpectrocanvasError, match="2-D"):
        clip_scorer.score([torch.rand(256)], ["a dog"])


# ---- CLAP ------------------------------------------------------------------------------------
def test_resample_and_normalise_match_librosa():
    librosa = pytest.importorskip("librosa")
    rng = np.random.default_rng(0)
    for rate, length in ((16000, 16000 * 3 + 7), (22050, 22050 * 2 + 1), (48000, 4800)):
        audio = rng.standard_normal(length) * 0.3
        ours = resample_to(audio, rate, 48000)
        theirs = librosa.resample(audio, orig_sr=rate, target_sr=48000)
        assert ours.shape == theirs.shape and np.allclose(ours, theirs, atol=1e-12)
        assert np.allclose(peak_normalise(ours), librosa.util.normalize(theirs), atol=1e-12)
    assert np.abs(peak_normalise(ours)).max() == pytest.approx(1.0)
    assert not peak_normalise(np.zeros(10)).any()  # silence stays silence


def _direct_clap(folder, waveform: np.ndarray, rate: int, prompt: str) -> float:
    """The official recipe with librosa and the ClapProcessor, one clip at a time."""
    librosa = pytest.importorskip("librosa")
    from transformers import ClapModel, ClapProcessor

    model, processor = ClapModel.from_pretrained(str(folder)).eval(), ClapProcessor.from_pretrained(str(folder))
    audio = librosa.util.normalize(librosa.resample(waveform, orig_sr=rate, target_sr=48000))
    audio = audio[:480000]  # our documented, deterministic stand-in for the random 10 s crop
    inputs = processor(text=[prompt], audio=[audio], sampling_rate=48000, return_tensors="pt", padding=True)
    with torch.no_grad():
        out = model(**inputs)
    cosine = float(out.logits_per_audio / model.logit_scale_a.detach().exp())
    return 100 * max(cosine, 0.0)


def test_clap_score_equals_the_direct_computation(clap_folder, clap_scorer):
    rng = np.random.default_rng(1)
    t = np.arange(16000 * 12) / 16000
    waveforms = [0.2 * rng.standard_normal(16000 * 3),                       # padded by repetition
                 0.5 * np.sin(2 * np.pi * 440 * t[:99200]),                    # 9.92 s, the paper's length
                 torch.from_numpy(0.1 * np.sin(2 * np.pi * 97 * t) * (1 + t))]  # 12 s: first 10 s
    scores = clap_scorer.score(waveforms, PROMPTS, sample_rate=16000)
    assert scores.shape == (3,) and (scores > 0).all()
    for waveform, prompt, score in zip(waveforms, PROMPTS, scores):
        expected = _direct_clap(clap_folder, np.asarray(waveform, dtype=np.float64), 16000, prompt)
        assert float(score) == pytest.approx(expected, abs=1e-4)
    again = ClapScorer(str(clap_folder), device="cpu", batch_size=2).score(waveforms, PROMPTS, sample_rate=16000)
    assert torch.allclose(again, scores, atol=1e-4)  # batching and repeated runs agree: deterministic


def test_clap_score_is_clipped_at_zero(tmp_path, clap_scorer):
    flipped = ClapScorer(str(make_tiny_clap(tmp_path, negate_text=True)), device="cpu")
    audio = [np.sin(np.arange(32000) * 0.05)]
    positive = clap_scorer.similarities(audio, "birds singing", 16000)
    negative = flipped.similarities(audio, "birds singing", 16000)
    assert torch.allclose(negative, -positive, atol=1e-6) and negative.item() < 0
    assert flipped.score(audio, "birds singing", 16000).tolist() == [0.0]


def test_clap_rejects_bad_input(clap_scorer):
    with pytest.raises(SpectrocanvasError, match="1-D"):
        clap_scorer.score([np.zeros((2, 100))], ["a dog"], sample_rate=16000)
    with pytest.raises(SpectrocanvasError, match="prompts"):
        clap_scorer.score([np.ones(100)], ["a", "b"], sample_rate=16000)


# ---- loading ---------------------------------------------------------------------------------
def test_describe_and_presets(clip_scorer, clap_scorer, clip_folder):
    assert CLIP_PRESET == "openai/clip-vit-base-patch16" and CLAP_PRESET == "laion/clap-htsat-unfused"
    clip, clap = clip_scorer.describe(), clap_scorer.describe()
    assert clip["model"] == str(clip_folder) and "revision" in clip and clip["stride"] == 32
    assert clap["sample_rate"] == 48000 and clap["max_seconds"] == 10.0


def test_shared_scorers_load_once(clip_folder):
    first = ClipScorer.shared(str(clip_folder), device="cpu")
    assert ClipScorer.shared(str(clip_folder), device="cpu") is first
    assert ClipScorer.shared(str(clip_folder), device="cpu", dtype=torch.float64) is not first


@pytest.mark.parametrize("kind, option", [(ClipScorer, "--clip-model"), (ClapScorer, "--clap-model")])
def test_missing_models_give_one_line(tmp_path, kind, option):
    with pytest.raises(ModelNotFoundError) as missing:
        kind("spectrocanvas-tests/no-such-model", offline=True)
    message = str(missing.value)
    assert "\n" not in message and option in message and "offline" in message
    with pytest.raises(ModelNotFoundError, match=option):
        kind(str(tmp_path / "nowhere"))
    with pytest.raises(SpectrocanvasError) as broken:  # a folder without a model
        kind(str(tmp_path))
    assert "\n" not in str(broken.value) and option in str(broken.value)
