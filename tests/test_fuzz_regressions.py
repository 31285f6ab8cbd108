"""Inputs the loader fuzzer (fuzz/fuzz_loaders.py) found crashing the loaders, kept as regressions:
each now reads, or ends in the one-line SpectrocanvasError."""

from __future__ import annotations

from pathlib import Path

import pytest

from spectrocanvas.files.audio import read_audio
from spectrocanvas.files.pictures import PictureError, open_picture

FOUND = Path(__file__).parent / "data" / "fuzz"


@pytest.mark.parametrize("name", ["audio-000.mp3", "audio-001.mp3"])
def test_an_mp3_whose_header_claims_billions_of_frames_reads_what_it_holds(name):
    # The header claimed 6-8 billion frames (24-30 GiB): decoding must not trust it.
    sound, source = read_audio(FOUND / name, sample_rate=16000)
    assert 0 < sound.shape[0] < 100_000 and source.frames == sound.shape[0]


def test_a_tiff_with_a_float_where_an_integer_belongs_is_one_line():
    with pytest.raises(PictureError, match="corrupt or truncated"):
        open_picture(FOUND / "picture-000.tiff")
