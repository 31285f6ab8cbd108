"""Stable-Diffusion-layout models (SD 1.5, Auffusion, any model in diffusers' pipeline layout),
their VAE decoding, and the HiFi-GAN vocoder Auffusion ships in ``vocoder/``.

Every model comes through :func:`spectrocanvas.pairs.hub.resolve_model` (folder, cache or hub;
offline mode), is loaded once per process for each (source, device, dtype, revision) through
:func:`spectrocanvas.pairs.cache.cached`, and is frozen in eval mode. Missing or broken parts end
in one line that names the model and the folder.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from spectrocanvas.canvas.hifigan import HiFiGANVocoder, VocoderConfigError, build_generator
from spectrocanvas.canvas.spec import AUFFUSION, CanvasSpec
from spectrocanvas.diffusion.sampler import Denoiser
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.pairs.cache import cached
from spectrocanvas.pairs.hub import ResolvedModel, resolve_model

SOURCE_ALIASES: dict[str, str] = {
    "sd15": "stable-diffusion-v1-5/stable-diffusion-v1-5",
    "auffusion": "auffusion/auffusion-full-no-adapter",
}
"""Short names for the paper's two models."""

_WEIGHTS = {"unet": "diffusion_pytorch_model", "vae": "diffusion_pytorch_model", "text_encoder": "model"}
_BIN_WEIGHTS = {"unet": "diffusion_pytorch_model", "vae": "diffusion_pytorch_model", "text_encoder": "pytorch_model"}
_CONFIG_PATTERNS = ["model_index.json", "scheduler/scheduler_config.json", "tokenizer/*.json", "tokenizer/*.txt",
                    *(f"{sub}/config.json" for sub in _WEIGHTS)]
VOCODER_PATTERNS = ["vocoder/config.json", "vocoder/vocoder.pt"]

SCHEDULE_KEYS = {"num_train_timesteps": 1000, "beta_start": 0.0001, "beta_end": 0.02, "beta_schedule": "linear",
                 "trained_betas": None, "prediction_type": "epsilon"}
"""Scheduler-config entries that define the noise schedule, with diffusers' defaults when absent."""


class ModelLoadError(SpectrocanvasError):
    """A model folder was found but a part of it is missing, broken or incompatible."""


# ---- devices and dtypes ----------------------------------------------------------------------------
_DTYPES = {"fp32": torch.float32, "float32": torch.float32, "fp16": torch.float16, "float16": torch.float16,
           "half": torch.float16, "bf16": torch.bfloat16, "bfloat16": torch.bfloat16}


def default_dtype(device: str | torch.device) -> torch.dtype:
    """bf16 on a CUDA GPU that supports it, else fp16 on CUDA; fp32 on CPU and elsewhere."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def resolve_dtype(dtype: str | torch.dtype | None, device: str | torch.device) -> torch.dtype:
    """The ``--dtype`` option: None or "auto" → :func:`default_dtype`; "fp32" / "fp16" / "bf16" or a torch dtype."""
    if isinstance(dtype, torch.dtype):
        if dtype not in _DTYPES.values():
            raise SpectrocanvasError(f"dtype {dtype} is not supported (use fp32, fp16 or bf16)")
        return dtype
    if dtype is None or dtype == "auto":
        return default_dtype(device)
    try:
        return _DTYPES[dtype.lower()]
    except KeyError:
        raise SpectrocanvasError(f"unknown dtype '{dtype}' (use auto, fp32, fp16 or bf16)") from None


def _device(device: str | torch.device) -> torch.device:
    device = torch.device(device)
    if device.type == "cuda" and device.index is None and torch.cuda.is_available():
        device = torch.device("cuda", torch.cuda.current_device())
    return device


# ---- sources -----------------------------------------------------------------------------------------------
def _source_key(source: str) -> str:
    folder = Path(source).expanduser()
    return str(folder.resolve()) if folder.is_dir() else SOURCE_ALIASES.get(source, source)


def expand_alias(source: str) -> str:
    """"sd15" / "auffusion" → their hub ids; an existing folder of that name wins; anything else unchanged."""
    return source if Path(source).expanduser().is_dir() else SOURCE_ALIASES.get(source, source)


# ---- diffusion models ----------------------------------------------------------------------------------
@dataclass(eq=False)
class DiffusionModel:
    """The parts of a Stable-Diffusion-layout model that the composition sampler needs.

    Latents are (B, 4, H/8, W/8); text embeddings (B, 77, D). All parts are frozen, in eval mode.
    """

    name: str
    tokenizer: Any
    text_encoder: torch.nn.Module
    unet: torch.nn.Module
    vae: torch.nn.Module
    scheduler_config: dict[str, Any]
    resolved: ResolvedModel
    device: torch.device
    dtype: torch.dtype
    _prompt_cache: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)

    @property
    def latent_channels(self) -> int:
        return int(self.unet.config.in_channels)

    @property
    def vae_scale_factor(self) -> int:
        """Pixels per latent cell along each axis (8 for SD)."""
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def noise_schedule(self) -> dict[str, Any]:
        return noise_schedule(self.scheduler_config)

    def encode_prompts(self, prompts: Sequence[str] | str) -> torch.Tensor:
        """Prompts → CLIP last hidden states (B, 77, D) on the model's device and dtype ("" is the unconditional)."""
        if isinstance(prompts, str):
            prompts = [prompts]
        prompts = list(prompts)
        missing = [p for p in dict.fromkeys(prompts) if p not in self._prompt_cache]
        if missing:
            tokens = self.tokenizer(missing, padding="max_length", max_length=self.tokenizer.model_max_length,
                                    truncation=True, return_tensors="pt")
            with torch.no_grad():
                hidden = self.text_encoder(tokens.input_ids.to(self.device))[0]
            self._prompt_cache.update(zip(missing, hidden))
        return torch.stack([self._prompt_cache[p] for p in prompts])

    def describe(self) -> dict[str, Any]:
        """What meta.json records about this model."""
        return {
            "name": self.name,
            **self.resolved.describe(),
            "device": str(self.device),
            "dtype": str(self.dtype).removeprefix("torch."),
            "unet_parameters": sum(p.numel() for p in self.unet.parameters()),
            "noise_schedule": self.noise_schedule,
        }


def _weight_patterns(sub: str, weights: str) -> list[str]:
    stem = (_WEIGHTS if weights == "safetensors" else _BIN_WEIGHTS)[sub]
    return [f"{sub}/{stem}.{weights}", f"{sub}/{stem}-*-of-*.{weights}"]


def diffusion_patterns(weights: str = "safetensors", parts: Sequence[str] = tuple(_WEIGHTS)) -> list[str]:
    """allow_patterns for a diffusion model: configs, tokenizer, one weight format for ``parts``.

    Only full-precision files: fp16 and EMA variants and single-file checkpoints are left on the hub.
    """
    patterns = list(_CONFIG_PATTERNS)
    for sub in parts:
        patterns += [*_weight_patterns(sub, weights), f"{sub}/*.{weights}.index.json"]
    return patterns


def _has_weights(root: Path, sub: str) -> bool:
    """Whether ``root/sub`` holds full-precision weights in either format (sharded or not)."""
    folder = root / sub
    if not folder.is_dir():
        return False
    patterns = _weight_patterns(sub, "safetensors") + _weight_patterns(sub, "bin")
    return any(fnmatch.fnmatch(f"{sub}/{p.name}", pattern) for p in folder.iterdir() for pattern in patterns)


def load_diffusion_model(
    source: str,
    *,
    what: str = "model",
    option: str = "--model",
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype | None = None,
    offline: bool | None = None,
    revision: str | None = None,
) -> DiffusionModel:
    """Tokenizer, text encoder, UNet, VAE and scheduler config of a SD-layout model, loaded once per process.

    ``source``: a short name ("sd15", "auffusion"), a hub id or a folder. ``what`` ("image model")
    and ``option`` ("--image-model") name the model and the CLI option that takes a folder in messages.
    """
    device = _device(device)
    dtype = resolve_dtype(dtype, device)
    key = ("diffusion", _source_key(source), str(device), dtype, revision)
    return cached(key, lambda: _load_diffusion_model(source, what, option, device, dtype, offline, revision))


def quiet_library_logging() -> None:
    """Our own progress bars speak for long work; the libraries' per-file bars and notices do not."""
    import diffusers.utils.logging as diffusers_logging  # seconds to import: only when a model loads
    import transformers.utils.logging as transformers_logging  # likewise

    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    diffusers_logging.disable_progress_bar()
    diffusers_logging.set_verbosity_error()


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def _load_diffusion_model(source: str, what: str, option: str, device: torch.device, dtype: torch.dtype,
                          offline: bool | None, revision: str | None) -> DiffusionModel:
    from diffusers import AutoencoderKL, UNet2DConditionModel  # seconds to import: only when a model loads
    from diffusers.utils import is_accelerate_available  # likewise
    from transformers import CLIPTextModel, CLIPTokenizer  # likewise

    quiet_library_logging()
    hub_source = expand_alias(source)
    resolved = resolve_model(hub_source, what=what, option=option, offline=offline, revision=revision,
                             allow_patterns=diffusion_patterns("safetensors"))
    lacking = [sub for sub in _WEIGHTS if not _has_weights(resolved.path, sub)]
    if lacking:  # older repos ship some parts only as .bin files
        resolved = resolve_model(hub_source, what=what, option=option, offline=offline, revision=revision,
                                 allow_patterns=diffusion_patterns("bin", lacking))
    root = resolved.path
    fix = f"re-download it or pass {option} with a complete copy"
    if not (root / "model_index.json").is_file():
        raise ModelLoadError(f"{what} '{source}' at {root} is not a diffusers pipeline folder "
                             f"(no model_index.json); {fix}")
    for sub in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        if not (root / sub).is_dir():
            raise ModelLoadError(f"{what} '{source}' has no {sub}/ folder in {root}; {fix}")
    for sub in _WEIGHTS:
        if not _has_weights(root, sub):
            raise ModelLoadError(f"{what} '{source}' has no weights in {root / sub}; {fix}")

    def part(sub: str, load: Callable[[], Any]) -> Any:
        try:
            return load()
        except Exception as error:  # diffusers/transformers raise OSError, ValueError, JSON and safetensors errors
            raise ModelLoadError(f"{what} '{source}' has an unreadable {sub}/ folder in {root} "
                                 f"({_first_line(error)}); {fix}") from None

    def scheduler_config() -> dict[str, Any]:
        return json.loads((root / "scheduler" / "scheduler_config.json").read_text())

    # Cheap parts first, so a broken tokenizer is reported before gigabytes of UNet are read.
    schedule = part("scheduler", scheduler_config)
    tokenizer = part("tokenizer", lambda: CLIPTokenizer.from_pretrained(root, subfolder="tokenizer",
                                                                        local_files_only=True))
    text_encoder = part("text_encoder", lambda: CLIPTextModel.from_pretrained(
        root, subfolder="text_encoder", dtype=dtype, local_files_only=True))
    # Without accelerate, diffusers falls back to a normal load anyway, but warns on every call.
    diffusers_kwargs = {"torch_dtype": dtype, "local_files_only": True, "low_cpu_mem_usage": is_accelerate_available()}
    vae = part("vae", lambda: AutoencoderKL.from_pretrained(root, subfolder="vae", **diffusers_kwargs))
    unet = part("unet", lambda: UNet2DConditionModel.from_pretrained(root, subfolder="unet", **diffusers_kwargs))

    if unet.config.cross_attention_dim != text_encoder.config.hidden_size:
        raise ModelLoadError(f"{what} '{source}': its UNet attends to {unet.config.cross_attention_dim}-wide text "
                             f"features but its text encoder gives {text_encoder.config.hidden_size}")
    if vae.config.latent_channels != unet.config.in_channels:
        raise ModelLoadError(f"{what} '{source}': its VAE has {vae.config.latent_channels} latent channels but its "
                             f"UNet takes {unet.config.in_channels}")
    modules = [m.to(device).eval().requires_grad_(False) for m in (unet, vae, text_encoder)]
    return DiffusionModel(name=source, tokenizer=tokenizer, text_encoder=modules[2], unet=modules[0], vae=modules[1],
                          scheduler_config=schedule, resolved=resolved, device=device, dtype=dtype)


def unet_denoiser(model: DiffusionModel) -> Denoiser:
    """The model's UNet as ``denoiser(latents, t, cond) → ε``, returned in the latents' dtype.

    Latents and embeddings are moved to the model's device and dtype. Grad mode is the caller's:
    the weights are frozen, so no graph is built unless the latents require gradients.
    """
    prediction = model.scheduler_config.get("prediction_type", "epsilon")
    if prediction != "epsilon":
        raise ModelLoadError(f"model '{model.name}' predicts '{prediction}', but the sampler needs an "
                             f"ε-prediction model")
    unet = model.unet

    def denoise(latents: torch.Tensor, t: torch.Tensor | int, cond: torch.Tensor) -> torch.Tensor:
        eps = unet(latents.to(model.device, model.dtype), t,
                   encoder_hidden_states=cond.to(model.device, model.dtype)).sample
        return eps.to(latents.dtype)

    return denoise


def noise_schedule(scheduler_config: dict[str, Any]) -> dict[str, Any]:
    """The entries of a scheduler config that define the training noise schedule."""
    return {key: scheduler_config.get(key, default) for key, default in SCHEDULE_KEYS.items()}


# ---- decoding ----------------------------------------------------------------------------------------------
@torch.no_grad()
def decode_pixels(model: DiffusionModel, latents: torch.Tensor) -> torch.Tensor:
    """Latents (B, 4, h, w) → RGB (B, 3, 8h, 8w) in [0, 1] through the model's VAE, on the CPU."""
    vae = model.vae
    scaled = latents.to(model.device, model.dtype) / vae.config.scaling_factor
    return (vae.decode(scaled).sample.float() / 2 + 0.5).clamp(0, 1).cpu()


def decode_canvas(model: DiffusionModel, latents: torch.Tensor) -> torch.Tensor:
    """Latents (B, 4, h, w) → canvas (B, 8h, 8w): the mean of the three decoded channels."""
    return decode_pixels(model, latents).mean(dim=1)


@torch.no_grad()
def encode_pixels(model: DiffusionModel, pixels: torch.Tensor) -> torch.Tensor:
    """RGB (B, 3, H, W) in [0, 1] → latents (B, 4, H/8, W/8) through the model's VAE: the mean of its
    posterior (deterministic), scaled as the UNet sees latents. Returned in float32 on the model's device."""
    vae = model.vae
    posterior = vae.encode(pixels.to(model.device, model.dtype) * 2 - 1).latent_dist
    return (posterior.mean * vae.config.scaling_factor).float()


# ---- vocoder ----------------------------------------------------------------------------------------------
def load_vocoder(
    source: str,
    *,
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype | None = None,
    offline: bool | None = None,
    revision: str | None = None,
    spec: CanvasSpec = AUFFUSION,
    what: str = "audio model",
    option: str = "--audio-model",
) -> HiFiGANVocoder:
    """The HiFi-GAN in ``source``'s ``vocoder/`` folder (config.json + vocoder.pt), loaded once per process."""
    device = _device(device)
    dtype = resolve_dtype(dtype, device)
    key = ("vocoder", _source_key(source), str(device), dtype, revision, spec)
    return cached(key, lambda: _load_vocoder(source, device, dtype, offline, revision, spec, what, option))


def _load_vocoder(source: str, device: torch.device, dtype: torch.dtype, offline: bool | None,
                  revision: str | None, spec: CanvasSpec, what: str, option: str) -> HiFiGANVocoder:
    resolved = resolve_model(expand_alias(source), what=what, option=option, offline=offline, revision=revision,
                             allow_patterns=VOCODER_PATTERNS)
    folder = resolved.path / "vocoder"
    fix = f"pass {option} with a folder that holds vocoder/config.json and vocoder/vocoder.pt"
    for name in ("config.json", "vocoder.pt"):
        if not (folder / name).is_file():
            raise ModelLoadError(f"{what} '{source}' has no vocoder/{name} in {resolved.path}; {fix}")
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError) as error:
        raise ModelLoadError(f"{what} '{source}' has an unreadable {folder / 'config.json'} "
                             f"({_first_line(error)})") from None
    try:
        checkpoint = torch.load(folder / "vocoder.pt", map_location="cpu", weights_only=True)
    except Exception as error:  # truncated file, pickle refused by weights_only, …
        raise ModelLoadError(f"{what} '{source}' has an unreadable {folder / 'vocoder.pt'} "
                             f"({_first_line(error)})") from None
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get("generator"), dict):
        state_dict = checkpoint["generator"]
    elif isinstance(checkpoint, dict) and any(str(k).startswith("conv_pre.") for k in checkpoint):
        state_dict = checkpoint  # a bare generator state dict
    else:
        raise ModelLoadError(f"{what} '{source}': {folder / 'vocoder.pt'} holds no HiFi-GAN generator "
                             f"(expected a dict with the key 'generator')")
    try:
        generator = build_generator(config, state_dict)
        vocoder = HiFiGANVocoder(generator.to(device, dtype), spec, source=resolved.describe())
    except VocoderConfigError as error:
        raise VocoderConfigError(f"{what} '{source}': {error}") from None
    return vocoder
