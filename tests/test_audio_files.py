"""Audio files of any rate and channel count read as mono at the canvas rate; WAVs keep the picture."""

import numpy as np
import pytest
import soundfile
import torch

from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.files.audio import fit_length, read_audio, write_wav


@pytest.mark.parametrize("rate,channels,fmt", [(44100, 2, "WAV"), (48000, 1, "FLAC"), (8000, 3, "WAV"),
                                               (22050, 2, "OGG")])
def test_any_rate_and_channels_become_16k_mono(tmp_path, rate, channels, fmt):
    seconds = 0.5
    t = np.arange(int(rate * seconds)) / rate
    tone = 0.4 * np.sin(2 * np.pi * 440.0 * t)
    data = np.stack([tone] * channels, axis=1)
    path = tmp_path / f"x.{fmt.lower()}"
    soundfile.write(path, data, rate, format=fmt)
    waveform, source = read_audio(path, sample_rate=16000)
    assert source.sample_rate == rate and source.channels == channels
    assert abs(waveform.shape[0] - 8000) <= 1
    spectrum = np.abs(np.fft.rfft(waveform.numpy()[1000:7000]))
    assert abs(np.argmax(spectrum) * 16000 / 6000 - 440.0) < 5  # the tone survives resampling
    assert 0.3 < waveform.abs().max() < 0.5


@pytest.mark.parametrize("content,message", [
    (None, "does not exist"), (b"", "empty"), (b"RIFF\x00\x00garbage", "not an audio file"),
])
def test_bad_audio_files_are_refused(tmp_path, content, message):
    path = tmp_path / "bad.wav"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SpectrocanvasError, match=message):
        read_audio(path, sample_rate=16000)


def test_zero_length_audio_is_refused(tmp_path):
    path = tmp_path / "silent.wav"
    soundfile.write(path, np.zeros((0, 1)), 16000)
    with pytest.raises(SpectrocanvasError, match="no samples"):
        read_audio(path, sample_rate=16000)


def test_float_wav_keeps_the_absolute_level(tmp_path):
    loud = torch.linspace(-50, 50, 1000)
    write_wav(tmp_path / "a.wav", loud, sample_rate=16000)
    back, source = read_audio(tmp_path / "a.wav", sample_rate=16000)
    assert source.subtype == "FLOAT" and torch.equal(back, loud)


def test_fit_length_says_what_it_did():
    wave = torch.ones(10)
    assert fit_length(wave, 4)[1] == "cut" and fit_length(wave, 4)[0].shape == (4,)
    padded, how = fit_length(wave, 12)
    assert how == "padded" and padded[10:].abs().sum() == 0
    assert fit_length(wave, 10)[1] == "exact"


def test_a_wav_depends_on_its_samples_alone_and_opens_in_libsndfile_and_ffmpeg(tmp_path):
    import av

    wave = torch.sin(torch.arange(16_001) * 0.05) * 0.4
    write_wav(tmp_path / "a.wav", wave, sample_rate=16_000)
    write_wav(tmp_path / "b.wav", wave, sample_rate=16_000)
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()  # no time stamp inside
    info = soundfile.info(str(tmp_path / "a.wav"))
    assert (info.format, info.subtype, info.samplerate, info.channels, info.frames) == ("WAV", "FLOAT", 16_000, 1,
                                                                                         16_001)
    with av.open(str(tmp_path / "a.wav")) as container:
        stream = container.streams.audio[0]
        decoded = np.concatenate([frame.to_ndarray().reshape(-1) for frame in container.decode(stream)])
    assert stream.codec_context.name == "pcm_f32le" and np.array_equal(decoded, wave.numpy())
