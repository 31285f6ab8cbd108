"""Tiny random CLIP and CLAP models saved in the hub layout, for the scorer tests.

Not a test module: tests import :func:`make_tiny_clip` and :func:`make_tiny_clap`. Each writes a
folder with ``config.json``, ``model.safetensors``, ``preprocessor_config.json`` and tokenizer files,
as the real ``openai/clip-vit-base-patch16`` and ``laion/clap-htsat-unfused`` repositories hold
(the scorers only read those files). Tokenizers are built in memory from a small byte-level
vocabulary: no download, ever.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pathlib import Path  # noqa: E402

import torch  # noqa: E402

WORDS = ("a", "dog", "barking", "cat", "castle", "bells", "birds", "singing", "train", "photo", "of", "the")


def _byte_symbols() -> list[str]:
    """The 256 printable stand-ins that byte-level BPE uses for the bytes 0…255."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return [chr(code) for code in codes]


def _bpe_merges(words: tuple[str, ...], prefix: str = "", suffix: str = "") -> list[tuple[str, str]]:
    """Left-to-right merges that spell each word (with an optional prefix/suffix) as one token."""
    merges: list[tuple[str, str]] = []
    for word in words:
        symbols = [prefix + word[0]] if prefix else [word[0]]
        pieces = list(word[1:])
        if suffix:
            if pieces:
                pieces[-1] += suffix
            else:
                symbols[0] += suffix
        current = symbols[0]
        for piece in pieces:
            pair = (current, piece)
            if pair not in merges:
                merges.append(pair)
            current += piece
    return merges


def _clip_tokenizer():
    from transformers import CLIPTokenizer

    symbols = _byte_symbols()
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for token in symbols + [s + "</w>" for s in symbols]:
        vocab.setdefault(token, len(vocab))
    merges = _bpe_merges(WORDS, suffix="</w>")
    for left, right in merges:
        vocab.setdefault(left + right, len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)


def _roberta_tokenizer():
    from transformers import RobertaTokenizer

    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4}
    for token in _byte_symbols():
        vocab.setdefault(token, len(vocab))
    merges = _bpe_merges(WORDS, prefix="Ġ")
    merges = [("Ġ", word[0]) for word in WORDS] + merges
    merges = list(dict.fromkeys(merges))
    for left, right in merges:
        vocab.setdefault(left + right, len(vocab))
    return RobertaTokenizer(vocab=vocab, merges=merges, model_max_length=64)


def make_tiny_clip(folder: str | Path, *, image_size: int = 32, patch_size: int = 16,
                   crop_size: int | None = None, seed: int = 0, negate_text: bool = False) -> Path:
    """Save a tiny random CLIPModel and its CLIPProcessor in ``folder``; returns the folder.

    The processor resizes the shortest edge to ``image_size`` and centre-crops ``crop_size``
    (default: ``image_size``), like the real one does with 224. ``negate_text`` flips the sign of
    the text projection: every cosine similarity changes sign (random models give positive ones).
    """
    from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel

    folder = Path(folder)
    tokenizer = _clip_tokenizer()
    crop = crop_size or image_size
    config = CLIPConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                         num_attention_heads=4, max_position_embeddings=77,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id),
        vision_config=dict(image_size=crop, patch_size=patch_size, hidden_size=32, intermediate_size=37,
                           num_hidden_layers=2, num_attention_heads=4),
        projection_dim=16,
    )
    torch.manual_seed(seed)
    model = CLIPModel(config).eval()
    if negate_text:
        with torch.no_grad():
            model.text_projection.weight.neg_()
    image_processor = CLIPImageProcessorPil(size={"shortest_edge": image_size},
                                            crop_size={"height": crop, "width": crop})
    model.save_pretrained(folder)
    image_processor.save_pretrained(folder)  # preprocessor_config.json, as on the hub
    tokenizer.save_pretrained(folder)
    return folder


def make_tiny_clap(folder: str | Path, *, seed: int = 0, negate_text: bool = False) -> Path:
    """Save a tiny random ClapModel (HTSAT audio tower, RoBERTa text tower) and its ClapProcessor.

    The feature extractor is the real one's: 48 kHz, 64 mel bands, hop 480, 10 s, 'rand_trunc',
    'repeatpad'. The audio tower keeps spec_size 256 (64 bands × freq ratio 4 hold the 1001 frames
    of 10 s) but uses 16-pixel patches, two stages and 16 channels, so it runs in milliseconds.
    ``negate_text`` flips the sign of the text projection's output, and so of every cosine.
    """
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel

    folder = Path(folder)
    tokenizer = _roberta_tokenizer()
    config = ClapConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                         num_attention_heads=4, max_position_embeddings=80, type_vocab_size=1,
                         pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id),
        audio_config=dict(spec_size=256, num_mel_bins=64, patch_size=16, patch_stride=(16, 16), window_size=4,
                          patch_embeds_hidden_size=16, hidden_size=32, depths=[1, 1], num_attention_heads=[2, 2],
                          enable_fusion=False),
        projection_dim=16,
    )
    torch.manual_seed(seed)
    model = ClapModel(config).eval()
    if negate_text:
        with torch.no_grad():
            model.text_projection.linear2.weight.neg_()
            model.text_projection.linear2.bias.neg_()
    features = ClapFeatureExtractor(feature_size=64, sampling_rate=48_000, hop_length=480, max_length_s=10,
                                    fft_window_size=1024, frequency_min=50, frequency_max=14_000,
                                    truncation="rand_trunc", padding="repeatpad")
    model.save_pretrained(folder)
    features.save_pretrained(folder)  # preprocessor_config.json, as on the hub
    tokenizer.save_pretrained(folder)
    return folder
