"""Pictures of every PIL mode become gray canvases; canvas PNGs carry their settings."""

import numpy as np
import pytest
import torch
from PIL import Image

from spectrocanvas.canvas import CanvasSpec
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.files.pictures import canvas_spec_of, fit_picture, open_picture, picture_to_gray, save_canvas_png


@pytest.fixture
def gradient() -> np.ndarray:
    """A horizontal 8-bit ramp, 40 × 64."""
    return np.tile(np.linspace(0, 255, 64).round().astype(np.uint8), (40, 1))


def _save(tmp_path, image: Image.Image, name: str) -> str:
    path = tmp_path / name
    image.save(path)
    return str(path)


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "LA", "I;16", "1", "CMYK"])
def test_every_mode_reads_as_the_same_gray(tmp_path, gradient, mode):
    base = Image.fromarray(gradient)
    if mode == "I;16":
        image = Image.fromarray((gradient.astype(np.uint16) * 257))
        name = "g.png"
    elif mode == "1":
        image = base.point(lambda v: 255 if v >= 128 else 0).convert("1")
        name = "g.png"
    else:
        image = base.convert(mode)
        name = "g.tiff" if mode == "CMYK" else "g.png"
    gray = picture_to_gray(open_picture(_save(tmp_path, image, name)))
    expected = torch.from_numpy(gradient / 255.0).float()
    if mode == "1":
        expected = (expected >= 128 / 255).float()
    tolerance = 2 / 255 if mode in ("P", "CMYK") else 1e-4
    assert gray.shape == (40, 64)
    assert (gray - expected).abs().max() <= tolerance


def test_transparency_is_silence(tmp_path):
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., :3] = 255
    rgba[:, :2, 3] = 255  # left half opaque white, right half transparent white
    gray = picture_to_gray(open_picture(_save(tmp_path, Image.fromarray(rgba), "a.png")))
    assert torch.allclose(gray[:, :2], torch.ones(4, 2)) and torch.allclose(gray[:, 2:], torch.zeros(4, 2))


@pytest.mark.parametrize("fit", ["stretch", "crop", "pad"])
def test_fit_modes_make_the_canvas_size(fit):
    picture = torch.rand(300, 200)
    canvas = fit_picture(picture, height=256, width=1024, fit=fit)
    assert canvas.shape == (256, 1024) and canvas.min() >= 0 and canvas.max() <= 1


def test_pad_fills_with_silence_and_crop_keeps_the_middle():
    square = torch.ones(100, 100)
    padded = fit_picture(square, height=256, width=1024, fit="pad")
    assert padded[:, :300].max() == 0 and padded[:, 500:520].min() > 0.99
    stripes = torch.zeros(100, 400)
    stripes[:, 190:210] = 1.0  # a bright bar in the middle survives a crop to a square
    cropped = fit_picture(stripes, height=64, width=64, fit="crop")
    assert cropped[:, 29:35].mean() > 0.9 and cropped[:, :10].max() < 0.05


def test_canvas_png_round_trip_is_16_bit_exact(tmp_path):
    spec = CanvasSpec(n_mels=32, n_fft=512, hop_length=128, win_length=512)
    canvas = torch.rand(32, 77)
    path = tmp_path / "c.png"
    save_canvas_png(path, canvas, spec=spec, metadata={"seed": 3})
    image = open_picture(path)
    assert canvas_spec_of(image) == spec
    assert (picture_to_gray(image) - canvas).abs().max() <= 0.5 / 65535 + 1e-7
    assert canvas_spec_of(Image.new("L", (3, 3))) is None


@pytest.mark.parametrize("content,message", [
    (None, "does not exist"), (b"", "empty"), (b"this is not a picture", "not a picture"),
])
def test_bad_picture_files_are_refused(tmp_path, content, message):
    path = tmp_path / "bad.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SpectrocanvasError, match=message):
        open_picture(path)


def test_truncated_png_is_refused(tmp_path, gradient):
    good = tmp_path / "good.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200), dtype=np.uint8)).save(good)
    broken = tmp_path / "broken.png"
    broken.write_bytes(good.read_bytes()[:600])
    with pytest.raises(SpectrocanvasError, match="corrupt or truncated"):
        open_picture(broken)


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    width = height = 30_000  # 900 megapixels declared in a tiny file
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    data = zlib.compress(b"\x00" * (1 + width // 8) * 10)
    path = tmp_path / "bomb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    with pytest.raises(SpectrocanvasError, match="pixels|too large"):
        open_picture(path)
