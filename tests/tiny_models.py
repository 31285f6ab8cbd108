"""Tiny random models saved in the exact on-disk layout of the real hub repositories.

Not a test file: tests import it (``import tiny_models``) to build folders the real loading code
reads. ``save_tiny_sd`` mirrors ``stable-diffusion-v1-5/stable-diffusion-v1-5``;
``save_tiny_auffusion`` mirrors ``auffusion/auffusion-full-no-adapter`` (the same layout plus a
``vocoder/`` folder). The HiFi-GAN here is an independent reference written with the *old*
``torch.nn.utils.weight_norm``, so the loader's weight folding is checked against torch's own maths.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import warnings
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

SCHEDULER_CONFIG: dict[str, Any] = {
    "_class_name": "PNDMScheduler",
    "_diffusers_version": "0.6.0",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "trained_betas": None,
    "clip_sample": False,
}

MODEL_INDEX: dict[str, Any] = {
    "_class_name": "StableDiffusionPipeline",
    "_diffusers_version": "0.6.0",
    "feature_extractor": [None, None],
    "safety_checker": [None, None],
    "requires_safety_checker": False,
    "scheduler": ["diffusers", "PNDMScheduler"],
    "text_encoder": ["transformers", "CLIPTextModel"],
    "tokenizer": ["transformers", "CLIPTokenizer"],
    "unet": ["diffusers", "UNet2DConditionModel"],
    "vae": ["diffusers", "AutoencoderKL"],
}

TEXT_DIM = 32
"""Hidden size of the tiny text encoder (= the UNet's cross_attention_dim)."""

TINY_HIFIGAN_CONFIG: dict[str, Any] = {
    "resblock": "1",
    "upsample_rates": [5, 4, 2, 2, 2],          # multiply to 160, the canvas hop
    "upsample_kernel_sizes": [10, 8, 4, 5, 4],  # k − u = 5, 4, 2, 3, 2: two odd layers
    "upsample_initial_channel": 32,
    "resblock_kernel_sizes": [3, 5],
    "resblock_dilation_sizes": [[1, 3], [1, 2]],
    "num_mels": 256,
    "sampling_rate": 16000,
    # keys a real HiFi-GAN training config also carries; the loader ignores them
    "n_fft": 2048, "hop_size": 160, "win_size": 1024, "fmin": 0, "fmax": 8000,
}

WORDS = ("a", "an", "the", "of", "dog", "dogs", "bark", "barking", "cat", "bird", "birds", "sing", "singing",
         "castle", "painting", "photo", "train", "horn", "rain", "bell", "church", "with", "and")


@contextlib.contextmanager
def _seeded(seed: int):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


# ---- tokenizer --------------------------------------------------------------------------------
def _byte_symbols() -> list[str]:
    """The 256 printable stand-ins byte-level BPE uses for bytes 0…255 (GPT-2 / CLIP convention)."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    codes, extra = [], 0
    for byte in range(256):
        if byte in printable:
            codes.append(byte)
        else:
            codes.append(256 + extra)
            extra += 1
    return [chr(c) for c in codes]


def clip_vocab_and_merges(words: tuple[str, ...] = WORDS) -> tuple[dict[str, int], list[str]]:
    """A tiny CLIP-style BPE: every byte symbol (alone and word-final), merges that spell ``words``."""
    symbols = _byte_symbols()
    tokens = symbols + [s + "</w>" for s in symbols]
    merges: list[str] = []
    for word in words:
        parts = list(word[:-1]) + [word[-1] + "</w>"]
        while len(parts) > 1:
            merge = f"{parts[0]} {parts[1]}"
            if merge not in merges:
                merges.append(merge)
                tokens.append(parts[0] + parts[1])
            parts = [parts[0] + parts[1]] + parts[2:]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    vocab: dict[str, int] = {}
    for token in tokens:
        vocab.setdefault(token, len(vocab))
    return vocab, merges


def build_clip_tokenizer():
    """A CLIPTokenizer built in memory (77 tokens, like SD's)."""
    from transformers import CLIPTokenizer

    vocab, merges = clip_vocab_and_merges()
    return CLIPTokenizer(vocab=vocab, merges=[tuple(m.split(" ")) for m in merges], model_max_length=77)


def save_clip_tokenizer(folder: Path) -> None:
    """vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json, as in SD 1.5's tokenizer/."""
    vocab, merges = clip_vocab_and_merges()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    specials = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
                "unk_token": "<|endoftext|>"}
    _write_json(folder / "special_tokens_map.json", specials)
    _write_json(folder / "tokenizer_config.json", {**specials, "tokenizer_class": "CLIPTokenizer",
                                                    "model_max_length": 77, "do_lower_case": True,
                                                    "errors": "replace", "add_prefix_space": False})


# ---- Stable-Diffusion-layout models -------------------------------------------------------------
def _tiny_unet():
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(8, 16),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=TEXT_DIM, attention_head_dim=2, norm_num_groups=4)


def _tiny_vae():
    from diffusers import AutoencoderKL

    # Four blocks, three of them downsampling: a factor of 8, like SD's VAE.
    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1, block_out_channels=(4, 4, 4, 4),
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        norm_num_groups=2, sample_size=32)


def _tiny_text_encoder(vocab_size: int, eos_id: int, bos_id: int):
    from transformers import CLIPTextConfig, CLIPTextModel

    config = CLIPTextConfig(vocab_size=vocab_size, hidden_size=TEXT_DIM, intermediate_size=37, num_hidden_layers=2,
                            num_attention_heads=4, max_position_embeddings=77, bos_token_id=bos_id,
                            eos_token_id=eos_id, pad_token_id=eos_id, projection_dim=TEXT_DIM)
    return CLIPTextModel(config)


def save_tiny_sd(path: str | Path, seed: int = 0, *, beta_end: float = 0.012) -> Path:
    """A tiny random Stable Diffusion folder in SD 1.5's hub layout.

    ``beta_end`` other than SD's 0.012 gives a model with a mismatched noise schedule.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    _write_json(path / "model_index.json", MODEL_INDEX)
    _write_json(path / "scheduler" / "scheduler_config.json", {**SCHEDULER_CONFIG, "beta_end": beta_end})
    save_clip_tokenizer(path / "tokenizer")
    vocab, _ = clip_vocab_and_merges()
    with _seeded(seed):
        _tiny_unet().save_pretrained(path / "unet")
        _tiny_vae().save_pretrained(path / "vae")
        _tiny_text_encoder(len(vocab), vocab["<|endoftext|>"], vocab["<|startoftext|>"]).save_pretrained(
            path / "text_encoder")
    return path


# ---- reference HiFi-GAN (old weight_norm) ----------------------------------------------------------
def _wn(layer: nn.Module) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the old API is deprecated; the checkpoints use it
        return nn.utils.weight_norm(layer)


class _RefResBlock(nn.Module):
    def __init__(self, kind: str, ch: int, k: int, dilations: list[int]) -> None:
        super().__init__()
        self.kind = kind
        pad = lambda d: d * (k - 1) // 2  # noqa: E731
        if kind == "1":
            self.convs1 = nn.ModuleList([_wn(nn.Conv1d(ch, ch, k, 1, pad(d), d)) for d in dilations])
            self.convs2 = nn.ModuleList([_wn(nn.Conv1d(ch, ch, k, 1, pad(1), 1)) for _ in dilations])
        else:
            self.convs = nn.ModuleList([_wn(nn.Conv1d(ch, ch, k, 1, pad(d), d)) for d in dilations])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "1":
            for a, b in zip(self.convs1, self.convs2):
                x = b(F.leaky_relu(a(F.leaky_relu(x, 0.1)), 0.1)) + x
        else:
            for a in self.convs:
                x = a(F.leaky_relu(x, 0.1)) + x
        return x


class ReferenceHiFiGAN(nn.Module):
    """HiFi-GAN V1 generator with old-style weight norm on every conv: (B, mels, T) → (B, 1, T · hop)."""

    def __init__(self, h: dict[str, Any]) -> None:
        super().__init__()
        c = h["upsample_initial_channel"]
        self.n_kernels = len(h["resblock_kernel_sizes"])
        self.conv_pre = _wn(nn.Conv1d(h["num_mels"], c, 7, 1, 3))
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        for i, (u, k) in enumerate(zip(h["upsample_rates"], h["upsample_kernel_sizes"])):
            odd = (k - u) % 2
            self.ups.append(_wn(nn.ConvTranspose1d(c >> i, c >> (i + 1), k, u, (k - u) // 2 + odd, output_padding=odd)))
            for rk, rd in zip(h["resblock_kernel_sizes"], h["resblock_dilation_sizes"]):
                self.resblocks.append(_RefResBlock(str(h["resblock"]), c >> (i + 1), rk, rd))
        self.conv_post = _wn(nn.Conv1d(c >> len(h["upsample_rates"]), 1, 7, 1, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_pre(x)
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, 0.1))
            total = None
            for j in range(self.n_kernels):
                y = self.resblocks[i * self.n_kernels + j](x)
                total = y if total is None else total + y
            x = total / self.n_kernels
        return torch.tanh(self.conv_post(F.leaky_relu(x)))


def reference_hifigan(config: dict[str, Any] | None = None, seed: int = 1) -> ReferenceHiFiGAN:
    """Random reference generator; every weight_g is scaled away from ‖v‖ so folding is really exercised."""
    config = dict(config or TINY_HIFIGAN_CONFIG)
    with _seeded(seed):
        model = ReferenceHiFiGAN(config)
        with torch.no_grad():
            for name, param in model.named_parameters():
                if name.endswith("weight_g"):
                    param.mul_(torch.empty_like(param).uniform_(0.5, 1.5))
    return model.eval()


def save_tiny_auffusion(path: str | Path, seed: int = 1, *, beta_end: float = 0.012,
                        vocoder_config: dict[str, Any] | None = None) -> Path:
    """SD layout (another seed) plus ``vocoder/config.json`` and ``vocoder/vocoder.pt`` ({"generator": state dict})."""
    path = save_tiny_sd(path, seed=seed, beta_end=beta_end)
    config = dict(vocoder_config or TINY_HIFIGAN_CONFIG)
    _write_json(path / "vocoder" / "config.json", config)
    torch.save({"generator": reference_hifigan(config, seed).state_dict()}, path / "vocoder" / "vocoder.pt")
    return path


# ---- Hugging Face cache layout -----------------------------------------------------------------------
def put_in_hf_cache(cache_dir: str | Path, repo_id: str, save: Callable[[Path], Any],
                    commit: str = "0123456789abcdef0123456789abcdef01234567") -> Path:
    """Write a model as the HF cache holds it: models--owner--name/snapshots/<commit>/… and refs/main."""
    repo = Path(cache_dir) / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / commit
    if snapshot.exists():
        shutil.rmtree(snapshot)
    save(snapshot)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return snapshot
