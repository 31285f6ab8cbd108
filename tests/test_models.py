"""Model loading on tiny random models saved in the real repositories' layouts: folder, HF cache, errors, cache."""

import os
import shutil
from pathlib import Path

import pytest
import tiny_models
import torch
from huggingface_hub import constants

from spectrocanvas.canvas import AUFFUSION
from spectrocanvas.canvas.analysis import canvas_to_log_mel
from spectrocanvas.canvas.hifigan import HiFiGANVocoder, VocoderConfigError
from spectrocanvas.canvas.vocoders import Vocoder
from spectrocanvas.diffusion.sampler import ScheduleMismatchError, check_shared_schedule
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.pairs.cache import clear_model_cache
from spectrocanvas.pairs.hub import ModelNotFoundError
from spectrocanvas.pairs.sd_models import (
    SOURCE_ALIASES,
    ModelLoadError,
    default_dtype,
    load_diffusion_model,
    load_vocoder,
    resolve_dtype,
    unet_denoiser,
)

ROLE = {"image": {"what": "image model", "option": "--image-model"},
        "audio": {"what": "audio model", "option": "--audio-model"}}
"""How the real pair names each model in messages (its ModelSlot)."""


@pytest.fixture(scope="session")
def sd_folder(tmp_path_factory) -> Path:
    return tiny_models.save_tiny_sd(tmp_path_factory.mktemp("models") / "tiny-sd", seed=0)


@pytest.fixture(scope="session")
def auffusion_folder(tmp_path_factory) -> Path:
    return tiny_models.save_tiny_auffusion(tmp_path_factory.mktemp("models") / "tiny-auffusion", seed=1)


@pytest.fixture(autouse=True)
def fresh_cache():
    clear_model_cache()
    yield
    clear_model_cache()


def _copy(folder: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(folder, tmp_path / folder.name))


def test_loads_every_part_from_a_local_folder_in_fp32_on_cpu(sd_folder):
    model = load_diffusion_model(str(sd_folder), **ROLE["image"])
    assert model.resolved.path == sd_folder.resolve() and model.resolved.revision is None
    assert model.dtype == torch.float32 and model.device == torch.device("cpu")
    for module in (model.unet, model.vae, model.text_encoder):
        assert all(p.dtype == torch.float32 and not p.requires_grad for p in module.parameters())
        assert not module.training
    assert model.latent_channels == 4 and model.vae_scale_factor == 8
    assert model.scheduler_config["beta_schedule"] == "scaled_linear"
    # a 4 × 4 × 8 latent decodes to a 3 × 32 × 64 picture, as SD's VAE scales by 8
    with torch.no_grad():
        image = model.vae.decode(torch.randn(1, 4, 4, 8)).sample
    assert image.shape == (1, 3, 32, 64)
    described = model.describe()
    assert described["dtype"] == "float32" and described["path"] == str(sd_folder.resolve())
    assert described["noise_schedule"]["beta_end"] == 0.012


def test_encode_prompts_gives_one_77_token_embedding_per_prompt(sd_folder):
    model = load_diffusion_model(str(sd_folder), **ROLE["image"])
    embeddings = model.encode_prompts(["a dog barking", "", "a dog barking"])
    assert embeddings.shape == (3, 77, tiny_models.TEXT_DIM) and embeddings.dtype == torch.float32
    assert torch.equal(embeddings[0], embeddings[2])
    assert not torch.allclose(embeddings[0], embeddings[1])
    # the same as running the tokenizer and text encoder by hand
    tokens = tiny_models.build_clip_tokenizer()(["a dog barking"], padding="max_length", max_length=77,
                                               return_tensors="pt")
    with torch.no_grad():
        direct = model.text_encoder(tokens.input_ids)[0]
    torch.testing.assert_close(embeddings[:1], direct)


def test_unet_denoiser_predicts_noise_of_the_latent_shape(sd_folder):
    model = load_diffusion_model(str(sd_folder), **ROLE["image"])
    denoise = unet_denoiser(model)
    latents = torch.randn(2, 4, 4, 8)
    cond = model.encode_prompts(["a castle", ""])
    eps = denoise(latents, torch.tensor(500), cond)
    assert eps.shape == latents.shape and eps.dtype == latents.dtype
    torch.testing.assert_close(denoise(latents, 500, cond), eps)
    with torch.no_grad():
        direct = model.unet(latents, 500, encoder_hidden_states=cond).sample
    torch.testing.assert_close(eps, direct)


def test_each_model_is_loaded_once_per_source_device_and_dtype(sd_folder, monkeypatch):
    first = load_diffusion_model(str(sd_folder), **ROLE["image"])
    monkeypatch.chdir(sd_folder.parent)
    assert load_diffusion_model(sd_folder.name, **ROLE["audio"]) is first  # same folder, spelled differently
    other = load_diffusion_model(str(sd_folder), **ROLE["image"], dtype="bf16")
    assert other is not first and other.dtype == torch.bfloat16
    assert next(other.unet.parameters()).dtype == torch.bfloat16


def test_loads_from_the_hf_cache_offline_and_reports_the_revision():
    commit = "fedcba9876543210fedcba9876543210fedcba98"
    tiny_models.put_in_hf_cache(constants.HF_HUB_CACHE, "tiny-owner/tiny-sd", tiny_models.save_tiny_sd, commit=commit)
    model = load_diffusion_model("tiny-owner/tiny-sd", **ROLE["image"], offline=True)
    assert model.resolved.revision == commit and model.resolved.path.parent.name == "snapshots"
    assert model.describe()["revision"] == commit and model.describe()["source"] == "tiny-owner/tiny-sd"


def test_short_names_name_the_paper_models_and_load_from_the_cache():
    assert SOURCE_ALIASES == {"sd15": "stable-diffusion-v1-5/stable-diffusion-v1-5",
                       "auffusion": "auffusion/auffusion-full-no-adapter"}
    tiny_models.put_in_hf_cache(constants.HF_HUB_CACHE, SOURCE_ALIASES["auffusion"], tiny_models.save_tiny_auffusion)
    model = load_diffusion_model("auffusion", **ROLE["audio"])
    vocoder = load_vocoder("auffusion")
    assert model.resolved.source == SOURCE_ALIASES["auffusion"] and model.name == "auffusion"
    assert vocoder.describe()["source"] == SOURCE_ALIASES["auffusion"]


@pytest.mark.parametrize("source,role,named", [
    ("sd15", "image", SOURCE_ALIASES["sd15"]),
    ("nobody/missing-model", "audio", "nobody/missing-model"),
])
def test_missing_weights_offline_is_one_line_naming_the_model_and_the_option(source, role, named):
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    with pytest.raises(ModelNotFoundError) as error:
        load_diffusion_model(source, **ROLE[role])
    message = str(error.value)
    assert "\n" not in message and named in message and f"--{role}-model" in message


def test_a_missing_local_folder_names_the_option(tmp_path):
    with pytest.raises(ModelNotFoundError, match="--audio-model"):
        load_vocoder(str(tmp_path / "nowhere"))


def _remove_vae(root: Path) -> None:
    shutil.rmtree(root / "vae")


def _garble_unet_config(root: Path) -> None:
    (root / "unet" / "config.json").write_text("{ not json")


def _truncate_text_encoder(root: Path) -> None:
    weights = root / "text_encoder" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])


def _remove_unet_weights(root: Path) -> None:
    (root / "unet" / "diffusion_pytorch_model.safetensors").unlink()


def _remove_model_index(root: Path) -> None:
    (root / "model_index.json").unlink()


@pytest.mark.parametrize("damage,named", [
    (_remove_vae, "vae/"), (_garble_unet_config, "unet/"), (_truncate_text_encoder, "text_encoder/"),
    (_remove_unet_weights, "unet"), (_remove_model_index, "model_index.json"),
])
def test_a_damaged_folder_is_one_line_naming_the_model_and_the_part(sd_folder, tmp_path, damage, named):
    root = _copy(sd_folder, tmp_path)
    damage(root)
    with pytest.raises(ModelLoadError) as error:
        load_diffusion_model(str(root), **ROLE["image"])
    message = str(error.value)
    assert isinstance(error.value, SpectrocanvasError)
    assert "\n" not in message and named in message and str(root) in message and "--image-model" in message


def test_older_bin_weights_load_when_there_are_no_safetensors(sd_folder, tmp_path):
    from safetensors.torch import load_file

    root = _copy(sd_folder, tmp_path)
    for sub, name in [("unet", "diffusion_pytorch_model"), ("vae", "diffusion_pytorch_model"),
                      ("text_encoder", "model")]:
        safetensors = root / sub / f"{name}.safetensors"
        bin_name = "pytorch_model" if sub == "text_encoder" else name
        torch.save(load_file(safetensors), root / sub / f"{bin_name}.bin")
        safetensors.unlink()
    from_bin = load_diffusion_model(str(root), **ROLE["image"])
    from_safetensors = load_diffusion_model(str(sd_folder), **ROLE["image"])
    latents, cond = torch.randn(1, 4, 4, 4), from_safetensors.encode_prompts(["rain"])
    torch.testing.assert_close(unet_denoiser(from_bin)(latents, 10, cond),
                               unet_denoiser(from_safetensors)(latents, 10, cond))


def test_models_with_the_same_schedule_pass_and_different_ones_are_refused(sd_folder, auffusion_folder, tmp_path):
    image = load_diffusion_model(str(sd_folder), **ROLE["image"])
    audio = load_diffusion_model(str(auffusion_folder), **ROLE["audio"])
    check_shared_schedule([image.scheduler_config, audio.scheduler_config])
    other = load_diffusion_model(str(tiny_models.save_tiny_sd(tmp_path / "other", beta_end=0.02)), **ROLE["audio"])
    with pytest.raises(ScheduleMismatchError, match="noise schedules differ"):
        check_shared_schedule([image.scheduler_config, other.scheduler_config])


def test_dtype_defaults_and_override(monkeypatch):
    assert default_dtype("cpu") == torch.float32
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert default_dtype("cuda") == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert default_dtype("cuda") == torch.float16
    assert resolve_dtype("auto", "cpu") == torch.float32 and resolve_dtype(None, "cpu") == torch.float32
    assert resolve_dtype("bf16", "cpu") == torch.bfloat16 and resolve_dtype("FP16", "cpu") == torch.float16
    with pytest.raises(SpectrocanvasError, match="unknown dtype 'fp8'"):
        resolve_dtype("fp8", "cpu")


# ---- vocoder -------------------------------------------------------------------------------------------
def test_vocoder_loads_from_the_auffusion_layout_and_matches_the_reference(auffusion_folder):
    vocoder = load_vocoder(str(auffusion_folder))
    assert isinstance(vocoder, HiFiGANVocoder) and isinstance(vocoder, Vocoder)
    assert load_vocoder(str(auffusion_folder)) is vocoder
    canvas = torch.rand(2, AUFFUSION.n_mels, 11)
    waveform = vocoder(canvas)
    assert waveform.shape == (2, 11 * AUFFUSION.hop_length)
    reference = tiny_models.reference_hifigan(seed=1)
    with torch.no_grad():
        expected = reference(canvas_to_log_mel(canvas)).squeeze(1)
    torch.testing.assert_close(waveform, expected, rtol=0, atol=1e-5)
    described = vocoder.describe()
    assert described["path"] == str(auffusion_folder.resolve()) and described["dtype"] == "float32"


def test_vocoder_missing_from_the_folder_is_one_line(sd_folder):
    with pytest.raises(ModelLoadError, match="no vocoder/config.json") as error:
        load_vocoder(str(sd_folder))
    assert "\n" not in str(error.value) and "--audio-model" in str(error.value)


def test_vocoder_checkpoint_without_a_generator_is_refused(auffusion_folder, tmp_path):
    root = _copy(auffusion_folder, tmp_path)
    torch.save({"discriminator": {}}, root / "vocoder" / "vocoder.pt")
    with pytest.raises(ModelLoadError, match="'generator'"):
        load_vocoder(str(root))
    (root / "vocoder" / "vocoder.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelLoadError, match="unreadable"):
        load_vocoder(str(root))


def test_vocoder_for_another_canvas_is_refused(auffusion_folder):
    with pytest.raises(VocoderConfigError, match="256 mel bands but the canvas has 128"):
        load_vocoder(str(auffusion_folder), spec=AUFFUSION.with_(n_mels=128))


def test_download_patterns_fetch_one_full_precision_copy_and_nothing_else():
    from huggingface_hub.utils import filter_repo_objects

    from spectrocanvas.pairs.sd_models import VOCODER_PATTERNS, diffusion_patterns

    repo = ["model_index.json", "v1-5-pruned.safetensors", "v1-5-pruned-emaonly.ckpt", "README.md",
            "scheduler/scheduler_config.json", "feature_extractor/preprocessor_config.json",
            "safety_checker/config.json", "safety_checker/model.safetensors",
            "tokenizer/vocab.json", "tokenizer/merges.txt", "tokenizer/special_tokens_map.json",
            "tokenizer/tokenizer_config.json", "text_encoder/config.json", "text_encoder/model.safetensors",
            "text_encoder/model.fp16.safetensors", "text_encoder/pytorch_model.bin",
            "unet/config.json", "unet/diffusion_pytorch_model.safetensors", "unet/diffusion_pytorch_model.bin",
            "unet/diffusion_pytorch_model.fp16.safetensors", "unet/diffusion_pytorch_model.non_ema.safetensors",
            "vae/config.json", "vae/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.fp16.bin",
            "vocoder/config.json", "vocoder/vocoder.pt"]
    fetched = set(filter_repo_objects(repo, allow_patterns=diffusion_patterns()))
    assert fetched == {"model_index.json", "scheduler/scheduler_config.json", "tokenizer/vocab.json",
                       "tokenizer/merges.txt", "tokenizer/special_tokens_map.json", "tokenizer/tokenizer_config.json",
                       "text_encoder/config.json", "text_encoder/model.safetensors", "unet/config.json",
                       "unet/diffusion_pytorch_model.safetensors", "vae/config.json",
                       "vae/diffusion_pytorch_model.safetensors"}
    bins = set(filter_repo_objects(repo, allow_patterns=diffusion_patterns("bin", ["unet"])))
    assert bins - fetched == {"unet/diffusion_pytorch_model.bin"}
    assert set(filter_repo_objects(repo, allow_patterns=VOCODER_PATTERNS)) == {"vocoder/config.json",
                                                                               "vocoder/vocoder.pt"}
