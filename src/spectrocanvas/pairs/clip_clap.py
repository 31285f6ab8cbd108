"""CLIP and CLAP scores, computed the way the paper (Chen, Geng & Owens 2024) computes them.

**CLIP score** (the canvas as a picture, against the image prompt): the grayscale canvas, as an
8-bit image, is cut into square H × H windows (256 × 256 for the default canvas) at a stride of
32 columns, starting at column 0 while ``start + H <= W`` (``Tensor.unfold``, as the official
code does: a width that is not on the stride grid leaves its last few columns unseen, and no
extra window flush with the right edge is added, so the numbers match the paper's). A canvas
narrower than H (the official code fails there) is padded on the right with zeros (silence,
black) to one H × H window. Each window is replicated to 3 channels and preprocessed as the
model's CLIP image processor does — shortest edge resized to its ``size`` with PIL's bicubic
filter, centre-cropped to ``crop_size``, rescaled and normalised with its mean and std — in
batched torch: two separable antialiased passes, each rounded to 8 bits like PIL's 8-bit
resampler (it agrees with the processor to within one grey level, on 0.02–0.3 % of the pixels
at 224 px, and exactly at 32 px).
The score is ``max(0, 100 · mean over windows of cos(image window, prompt))``, the
``torchmetrics`` ``CLIPScore`` that the official evaluation calls once per canvas.

**CLAP score** (the sound, against the audio prompt): the waveform is resampled to 48 kHz with
soxr's high-quality mode (librosa's default, which the official code calls), peak-normalised,
and turned into features by the model's ``ClapFeatureExtractor``; the score is
``100 · max(0, cos(audio, prompt))``. Deterministic where the official code is not: audio longer
than the extractor's ``max_length_s`` (10 s; a 10.24 s canvas) is cut to its first 10 s instead
of a random 10 s crop (``rand_trunc``). The paper's samples (9.92 s) are shorter and padded by
repetition ('repeatpad') either way. Fused CLAP models are refused: their features are random.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import soxr
import torch
import torch.nn.functional as F

from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.pairs.cache import cached
from spectrocanvas.pairs.hub import ResolvedModel, resolve_model
from spectrocanvas.pairs.interface import ScoredSample, SummaryColumn

CLIP_PRESET = "openai/clip-vit-base-patch16"
CLAP_PRESET = "laion/clap-htsat-unfused"
CLAP_SAMPLE_RATE = 48_000
CLIP_STRIDE = 32
WEIGHT_FILES = ["*.json", "*.txt", "*.safetensors", "pytorch_model.bin"]
_PIL_FILTERS = {2: "bilinear", 3: "bicubic"}  # PIL resample ids the torch path reproduces


def _pick_device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _load(loader: Any, resolved: ResolvedModel, what: str, option: str) -> Any:
    """Call ``loader.from_pretrained`` on a resolved folder; a broken folder is one line."""
    try:
        return loader.from_pretrained(str(resolved.path))
    except (OSError, ValueError, KeyError, TypeError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SpectrocanvasError(f"{what} in '{resolved.path}' could not be loaded ({reason}); "
                                 f"pass {option} with a folder holding a complete model") from None


def _as_prompts(prompts: str | Sequence[str], count: int) -> list[str]:
    """One prompt per sample; a single string applies to all ``count`` samples."""
    if isinstance(prompts, str):
        return [prompts] * count
    prompts = list(prompts)
    if len(prompts) != count:
        raise SpectrocanvasError(f"got {count} samples but {len(prompts)} prompts; give one prompt per sample")
    return prompts


# ---- CLIP: windows ---------------------------------------------------------------------------
def window_starts(width: int, size: int = 256, stride: int = CLIP_STRIDE) -> list[int]:
    """First columns of the ``size``-wide windows of a ``width``-wide canvas (official rule).

    ``range(0, width - size + 1, stride)``; a canvas narrower than ``size`` gives ``[0]`` (padded).
    """
    if width < 1 or size < 1 or stride < 1:
        raise ValueError("width, size and stride must be positive")
    if width <= size:
        return [0]
    return list(range(0, width - size + 1, stride))


def cut_windows(canvas: torch.Tensor, stride: int = CLIP_STRIDE) -> torch.Tensor:
    """(H, W) canvas → (N, H, H) windows at ``stride``; W < H is zero-padded on the right."""
    if canvas.dim() != 2:
        raise SpectrocanvasError(f"a canvas must be 2-D (height, width), got shape {tuple(canvas.shape)}")
    height, width = canvas.shape
    if width < height:
        canvas = F.pad(canvas, (0, height - width))
    return canvas.unfold(1, height, stride).permute(1, 0, 2)


def _resize_8bit(images: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    """(N, 1, h, w) grey levels 0…255 → (N, 1, *size), separable like PIL: width, then height.

    Each pass is antialiased (PIL's filter support scales with the reduction), clamped and
    rounded to whole grey levels, as PIL's 8-bit resampler stores its intermediate image.
    """
    height, width = size
    if images.shape[-1] != width:
        images = F.interpolate(images, size=(images.shape[-2], width), mode=mode, antialias=True,
                               align_corners=False).clamp(0, 255).round()
    if images.shape[-2] != height:
        images = F.interpolate(images, size=(height, width), mode=mode, antialias=True,
                               align_corners=False).clamp(0, 255).round()
    return images


class ClipScorer:
    """CLIP score of canvases against image prompts (see the module notes for the recipe)."""

    what = "CLIP model"

    def __init__(self, source: str = CLIP_PRESET, *, device: str | torch.device | None = None,
                 dtype: torch.dtype = torch.float32, offline: bool | None = None, revision: str | None = None,
                 stride: int = CLIP_STRIDE, batch_size: int = 64, option: str = "--clip-model") -> None:
        from transformers import AutoImageProcessor, AutoTokenizer, CLIPModel  # seconds to import: only to score

        if stride < 1 or batch_size < 1:
            raise SpectrocanvasError("CLIP stride and batch size must be positive")
        self.resolved = resolve_model(source, what=self.what, option=option, offline=offline,
                                      revision=revision, allow_patterns=WEIGHT_FILES)
        self.device, self.dtype = _pick_device(device), dtype
        self.stride, self.batch_size = stride, batch_size
        self.model = _load(CLIPModel, self.resolved, self.what, option).to(self.device, dtype).eval()
        self.tokenizer = _load(AutoTokenizer, self.resolved, self.what, option)
        processor = _load(AutoImageProcessor, self.resolved, self.what, option)
        self._read_preprocessing(processor)

    def _read_preprocessing(self, processor: Any) -> None:
        """Take sizes, filter, scale, mean and std from the image processor's configuration."""
        def get(name: str, default: Any = None) -> Any:
            return getattr(processor, name, default)

        size = dict(get("size") or {}) if get("do_resize", True) else {}
        self.resize_edge = size.get("shortest_edge")  # the short side goes to this length
        self.resize_fixed = (size["height"], size["width"]) if not self.resize_edge and size.get("height") else None
        crop = dict(get("crop_size") or {}) if get("do_center_crop", False) else {}
        self.crop = (crop["height"], crop["width"]) if crop else None
        resample = int(get("resample", 3))
        if resample not in _PIL_FILTERS:
            raise SpectrocanvasError(f"CLIP image processor uses PIL filter {resample}; only bilinear and "
                                     "bicubic are supported")
        self.mode = _PIL_FILTERS[resample]
        self.rescale = float(get("rescale_factor", 1 / 255)) if get("do_rescale", True) else 1.0
        normalise = get("do_normalize", True)
        mean = get("image_mean") if normalise else [0.0, 0.0, 0.0]
        std = get("image_std") if normalise else [1.0, 1.0, 1.0]
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)

    @classmethod
    def shared(cls, source: str = CLIP_PRESET, *, device: str | torch.device | None = None,
               dtype: torch.dtype = torch.float32, offline: bool | None = None,
               revision: str | None = None) -> "ClipScorer":
        """One scorer per (source, device, dtype, revision) per process."""
        device = str(_pick_device(device))
        return cached(("clip", source, device, dtype, revision),
                      lambda: cls(source, device=device, dtype=dtype, offline=offline, revision=revision))

    def describe(self) -> dict[str, Any]:
        """What meta.json records about this score."""
        return {"score": "clip", "model": self.resolved.source, "revision": self.resolved.revision,
                "window": "height x height", "stride": self.stride, "dtype": str(self.dtype).removeprefix("torch."),
                "input_size": self.crop or self.resize_fixed or self.resize_edge}

    def preprocess(self, windows: torch.Tensor) -> torch.Tensor:
        """(N, h, w) windows in [0, 1] → (N, 3, S, S) pixel values as the CLIP processor makes them.

        The windows are first quantised to 8 bits (``round(x · 255)``), as an 8-bit PNG holds them.
        """
        grey = windows.to(torch.float32).clamp(0, 1).mul(255).round().unsqueeze(1)
        if self.resize_edge:
            height, width = grey.shape[-2:]
            short = min(height, width)
            target = (int(self.resize_edge * height / short), int(self.resize_edge * width / short))
            grey = _resize_8bit(grey, target, self.mode)
        elif self.resize_fixed:
            grey = _resize_8bit(grey, self.resize_fixed, self.mode)
        if self.crop:
            height, width = grey.shape[-2:]
            top, left = (height - self.crop[0]) // 2, (width - self.crop[1]) // 2
            if top < 0 or left < 0:
                raise SpectrocanvasError(f"CLIP crop {self.crop} is larger than the resized window {(height, width)}")
            grey = grey[..., top:top + self.crop[0], left:left + self.crop[1]]
        pixels = grey.mul(self.rescale).expand(-1, 3, -1, -1)
        return (pixels - self.mean.to(pixels.device)) / self.std.to(pixels.device)

    @torch.no_grad()
    def text_embeddings(self, prompts: Sequence[str]) -> torch.Tensor:
        """(P,) prompts → (P, D) unit text embeddings (tokens truncated to the model's context)."""
        limit = self.model.config.text_config.max_position_embeddings
        tokens = self.tokenizer(list(prompts), padding=True, truncation=True, max_length=limit, return_tensors="pt")
        out = self.model.get_text_features(input_ids=tokens["input_ids"].to(self.device),
                                           attention_mask=tokens["attention_mask"].to(self.device))
        return F.normalize(_pooled(out).float(), dim=-1)

    @torch.no_grad()
    def image_embeddings(self, windows: torch.Tensor) -> torch.Tensor:
        """(N, h, w) windows in [0, 1] → (N, D) unit image embeddings, ``batch_size`` at a time."""
        parts = []
        for chunk in windows.split(self.batch_size):
            pixels = self.preprocess(chunk.to(self.device)).to(self.dtype)
            parts.append(F.normalize(_pooled(self.model.get_image_features(pixel_values=pixels)).float(), dim=-1))
        return torch.cat(parts)

    def window_similarities(self, canvases: torch.Tensor | Sequence[torch.Tensor],
                            prompts: str | Sequence[str]) -> list[torch.Tensor]:
        """Cosine similarity of every window with its canvas's prompt: B tensors of (N_b,)."""
        canvases = _as_canvases(canvases)
        prompts = _as_prompts(prompts, len(canvases))
        windows = [cut_windows(canvas, self.stride) for canvas in canvases]
        counts = [len(w) for w in windows]
        unique = list(dict.fromkeys(prompts))
        text = self.text_embeddings(unique)
        owner = torch.tensor([unique.index(p) for p, n in zip(prompts, counts) for _ in range(n)], device=text.device)
        image = self.image_embeddings(torch.cat([w.reshape(-1, *w.shape[-2:]) for w in windows]))
        cosine = (image * text[owner]).sum(dim=-1).cpu()
        return list(cosine.split(counts))

    def score(self, canvases: torch.Tensor | Sequence[torch.Tensor], prompts: str | Sequence[str]) -> torch.Tensor:
        """(B, H, W) canvases in [0, 1] (or B 2-D canvases of any widths) → (B,) CLIP scores."""
        similarities = self.window_similarities(canvases, prompts)
        return torch.stack([(100 * s.mean()).clamp(min=0) for s in similarities])


def _as_canvases(canvases: torch.Tensor | Sequence[torch.Tensor]) -> list[torch.Tensor]:
    if isinstance(canvases, torch.Tensor):
        if canvases.dim() == 2:
            canvases = canvases.unsqueeze(0)
        if canvases.dim() != 3:
            raise SpectrocanvasError(f"canvases must be (batch, height, width), got shape {tuple(canvases.shape)}")
        return list(canvases.detach())
    result = [torch.as_tensor(c).detach() for c in canvases]
    if not result:
        raise SpectrocanvasError("no canvases to score")
    return result


def _pooled(output: Any) -> torch.Tensor:
    """transformers ≥ 5 returns a model output with the projection in ``pooler_output``; 4.x a tensor."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output


# ---- CLAP ------------------------------------------------------------------------------------
def resample_to(waveform: np.ndarray, sample_rate: int, target_rate: int = CLAP_SAMPLE_RATE) -> np.ndarray:
    """1-D float64 waveform → ``ceil(n · target / rate)`` samples at ``target_rate`` (soxr HQ)."""
    if sample_rate == target_rate:
        return waveform
    length = math.ceil(len(waveform) * target_rate / sample_rate)
    out = soxr.resample(waveform, sample_rate, target_rate, quality="HQ")
    return np.pad(out, (0, max(0, length - len(out))))[:length]


def peak_normalise(waveform: np.ndarray) -> np.ndarray:
    """Divide by the largest absolute sample; (near-)silence is left as it is."""
    peak = float(np.max(np.abs(waveform))) if waveform.size else 0.0
    return waveform / peak if peak > np.finfo(waveform.dtype).tiny else waveform


class ClapScorer:
    """CLAP score of waveforms against audio prompts (see the module notes for the recipe)."""

    what = "CLAP model"

    def __init__(self, source: str = CLAP_PRESET, *, device: str | torch.device | None = None,
                 dtype: torch.dtype = torch.float32, offline: bool | None = None, revision: str | None = None,
                 batch_size: int = 16, option: str = "--clap-model") -> None:
        from transformers import AutoFeatureExtractor, AutoTokenizer, ClapModel  # seconds to import: only to score

        if batch_size < 1:
            raise SpectrocanvasError("CLAP batch size must be positive")
        self.resolved = resolve_model(source, what=self.what, option=option, offline=offline,
                                      revision=revision, allow_patterns=WEIGHT_FILES)
        self.device, self.dtype, self.batch_size = _pick_device(device), dtype, batch_size
        self.model = _load(ClapModel, self.resolved, self.what, option).to(self.device, dtype).eval()
        if getattr(self.model.config.audio_config, "enable_fusion", False):
            raise SpectrocanvasError(f"{self.what} '{source}' is a fused CLAP, whose features are random; "
                                     f"pass {option} with an unfused one such as {CLAP_PRESET}")
        self.tokenizer = _load(AutoTokenizer, self.resolved, self.what, option)
        self.features = _load(AutoFeatureExtractor, self.resolved, self.what, option)
        self.sample_rate = int(self.features.sampling_rate)
        self.max_samples = int(self.features.max_length_s * self.sample_rate)

    @classmethod
    def shared(cls, source: str = CLAP_PRESET, *, device: str | torch.device | None = None,
               dtype: torch.dtype = torch.float32, offline: bool | None = None,
               revision: str | None = None) -> "ClapScorer":
        """One scorer per (source, device, dtype, revision) per process."""
        device = str(_pick_device(device))
        return cached(("clap", source, device, dtype, revision),
                      lambda: cls(source, device=device, dtype=dtype, offline=offline, revision=revision))

    def describe(self) -> dict[str, Any]:
        """What meta.json records about this score."""
        return {"score": "clap", "model": self.resolved.source, "revision": self.resolved.revision,
                "sample_rate": self.sample_rate, "max_seconds": self.max_samples / self.sample_rate,
                "longer_audio": "first max_seconds", "dtype": str(self.dtype).removeprefix("torch.")}

    def prepare(self, waveform: np.ndarray | torch.Tensor, sample_rate: int) -> np.ndarray:
        """1-D waveform at ``sample_rate`` → float64 at the model's rate, peak 1, at most max length."""
        audio = np.asarray(torch.as_tensor(waveform).detach().cpu().double().numpy())
        if audio.ndim != 1 or audio.size == 0:
            raise SpectrocanvasError(f"a waveform must be a non-empty 1-D array, got shape {audio.shape}")
        audio = peak_normalise(resample_to(audio, sample_rate, self.sample_rate))
        return audio[:self.max_samples]

    @torch.no_grad()
    def text_embeddings(self, prompts: Sequence[str]) -> torch.Tensor:
        """(P,) prompts → (P, D) unit text embeddings."""
        tokens = self.tokenizer(list(prompts), padding=True, truncation=True, return_tensors="pt")
        out = self.model.get_text_features(input_ids=tokens["input_ids"].to(self.device),
                                           attention_mask=tokens["attention_mask"].to(self.device))
        return F.normalize(_pooled(out).float(), dim=-1)

    @torch.no_grad()
    def audio_embeddings(self, waveforms: Sequence[np.ndarray]) -> torch.Tensor:
        """Prepared waveforms (see :meth:`prepare`) → (B, D) unit audio embeddings."""
        parts = []
        for start in range(0, len(waveforms), self.batch_size):
            batch = self.features(list(waveforms[start:start + self.batch_size]), sampling_rate=self.sample_rate,
                                  truncation="rand_trunc", return_tensors="pt")
            out = self.model.get_audio_features(input_features=batch["input_features"].to(self.device, self.dtype),
                                                is_longer=batch["is_longer"].to(self.device))
            parts.append(F.normalize(_pooled(out).float(), dim=-1))
        return torch.cat(parts)

    def similarities(self, waveforms: Sequence[np.ndarray | torch.Tensor] | torch.Tensor,
                     prompts: str | Sequence[str], sample_rate: int) -> torch.Tensor:
        """(B,) cosine similarity of each waveform with its prompt, not clipped."""
        waveforms = list(waveforms)
        if not waveforms:
            raise SpectrocanvasError("no waveforms to score")
        prompts = _as_prompts(prompts, len(waveforms))
        prepared = [self.prepare(w, sample_rate) for w in waveforms]
        unique = list(dict.fromkeys(prompts))
        text = self.text_embeddings(unique)[[unique.index(p) for p in prompts]]
        return (self.audio_embeddings(prepared) * text).sum(dim=-1).cpu()

    def score(self, waveforms: Sequence[np.ndarray | torch.Tensor] | torch.Tensor, prompts: str | Sequence[str],
              sample_rate: int) -> torch.Tensor:
        """B 1-D waveforms at ``sample_rate`` → (B,) CLAP scores, 100 · max(0, cosine)."""
        return 100 * self.similarities(waveforms, prompts, sample_rate).clamp(min=0)


# ---- both, as the pair's scorer --------------------------------------------------------------------
SCORE_KEYS = ("clip_score", "clap_score")
COLUMNS = (SummaryColumn("clip_score", "CLIP ↑", "mean"), SummaryColumn("clap_score", "CLAP ↑", "mean"))


@dataclass(frozen=True)
class ClipClapScorer:
    """The paper's two scores as a :class:`~spectrocanvas.pairs.interface.Scorer`: CLIP of the canvas
    against the image prompt, CLAP of the sound against the audio prompt (fields :data:`SCORE_KEYS`)."""

    clip: ClipScorer
    clap: ClapScorer

    @classmethod
    def load(cls, *, clip_model: str = CLIP_PRESET, clap_model: str = CLAP_PRESET, device: str | None = None,
             offline: bool | None = None) -> "ClipClapScorer":
        """Both scorers, loaded once per process."""
        return cls(clip=ClipScorer.shared(clip_model, device=device, offline=offline),
                   clap=ClapScorer.shared(clap_model, device=device, offline=offline))

    def describe(self) -> dict[str, Any]:
        return {"clip": self.clip.describe(), "clap": self.clap.describe()}

    def score(self, samples: Sequence[ScoredSample]) -> list[dict[str, Any]]:
        """``clip_score`` and ``clap_score`` of each sample (CLAP called once per sample rate); None
        for a side composed without a prompt (nothing to score against)."""
        clip: list[float | None] = [None] * len(samples)
        pictured = [i for i, s in enumerate(samples) if s.prompts["image"].strip()]
        if pictured:
            values = self.clip.score([samples[i].canvas for i in pictured], [samples[i].prompts["image"] for i in pictured])
            for i, value in zip(pictured, values.tolist()):
                clip[i] = value
        clap: list[float | None] = [None] * len(samples)
        for rate in dict.fromkeys(s.sample_rate for s in samples):
            rows = [i for i, s in enumerate(samples) if s.sample_rate == rate and s.prompts["audio"].strip()]
            if not rows:
                continue
            values = self.clap.score([samples[i].waveform for i in rows], [samples[i].prompts["audio"] for i in rows],
                                     sample_rate=rate)
            for i, value in zip(rows, values.tolist()):
                clap[i] = value
        return [{"clip_score": c, "clap_score": a} for c, a in zip(clip, clap)]
