"""Spectrogram videos: the picture with a moving playhead, muxed with its sound (H.264 + AAC MP4).

The file is made for browsers: H.264 High profile in yuv420p (BT.709, limited range), AAC-LC
at 44.1 or 48 kHz, interleaved packets and the ``moov`` atom at the front (``+faststart``).
"""

from __future__ import annotations

import math
import os
from fractions import Fraction
from typing import Any, Callable

import numpy as np
import soxr

from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.files.atomic import atomic_path

#: Peak the AAC track is scaled to when the waveform is louder than this (AAC clips at 1.0).
AUDIO_PEAK = 0.99
#: Small pictures are upscaled by an integer factor until they are at least this tall.
MIN_HEIGHT = 256
#: AAC-LC consumes 1024 samples per frame.
_AAC_FRAME = 1024
#: BT.709 luma coefficients (Kr, Kb); Kg = 1 - Kr - Kb.
_KR, _KB = 0.2126, 0.0722


def _audio_rate(sample_rate: int) -> int:
    """The AAC track's rate.

    44.1 and 48 kHz are kept as they are; every other rate (the canvas's 16 kHz included) is
    resampled to 48 kHz. AAC allows 16 kHz, but 48 kHz is the native rate of video audio tracks
    and the one every browser and hardware decoder handles; 16 kHz → 48 kHz is an exact ×3, and
    the mel canvas holds nothing above 8 kHz, so resampling adds no content, only compatibility.
    """
    return sample_rate if sample_rate in (44100, 48000) else 48000


def _prepare_picture(picture: np.ndarray) -> tuple[np.ndarray, int]:
    """uint8 (H, W) or (H, W, 3) → RGB uint8 (H', W', 3) upscaled by an integer factor, both sides even; and the factor."""
    picture = np.asarray(picture)
    if picture.dtype != np.uint8:
        raise SpectrocanvasError(f"picture must be uint8, got {picture.dtype}")
    if picture.ndim == 2:
        picture = np.repeat(picture[:, :, None], 3, axis=2)
    if picture.ndim != 3 or picture.shape[2] != 3:
        raise SpectrocanvasError(f"picture must be (H, W) gray or (H, W, 3) RGB, got shape {picture.shape}")
    height, width = picture.shape[:2]
    if height == 0 or width == 0:
        raise SpectrocanvasError(f"picture is empty (shape {picture.shape})")
    factor = max(1, math.ceil(MIN_HEIGHT / height))
    if factor > 1:  # nearest neighbour: keeps the spectrogram's pixels crisp
        picture = np.repeat(np.repeat(picture, factor, axis=0), factor, axis=1)
    pad = ((0, picture.shape[0] % 2), (0, picture.shape[1] % 2), (0, 0))
    if any(p[1] for p in pad):  # yuv420p needs even sides: repeat the last row/column
        picture = np.pad(picture, pad, mode="edge")
    return np.ascontiguousarray(picture), factor


def _rgb_to_yuv420(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RGB uint8 (H, W, 3), H and W even → Y (H, W), U (H/2, W/2), V (H/2, W/2), BT.709 limited range."""
    x = rgb.astype(np.float32)
    luma = _KR * x[..., 0] + (1.0 - _KR - _KB) * x[..., 1] + _KB * x[..., 2]
    cb = (x[..., 2] - luma) / (2.0 * (1.0 - _KB))
    cr = (x[..., 0] - luma) / (2.0 * (1.0 - _KR))

    def half(c: np.ndarray) -> np.ndarray:  # average each 2×2 block (chroma siting is centred enough)
        return 0.25 * (c[0::2, 0::2] + c[1::2, 0::2] + c[0::2, 1::2] + c[1::2, 1::2])

    def to_u8(v: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(v), 0, 255).astype(np.uint8)

    return (to_u8(16.0 + luma * (219.0 / 255.0)),
            to_u8(128.0 + half(cb) * (224.0 / 255.0)),
            to_u8(128.0 + half(cr) * (224.0 / 255.0)))


def _prepare_audio(waveform: np.ndarray, sample_rate: int, out_rate: int) -> tuple[np.ndarray, float]:
    """waveform (N,) or (C, N), C ≤ 2 → float32 (C, M) at ``out_rate`` with peak ≤ AUDIO_PEAK, and the gain."""
    audio = np.asarray(waveform, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None, :]
    if audio.ndim != 2 or audio.shape[0] not in (1, 2):
        raise SpectrocanvasError(f"waveform must be (samples,) or (channels ≤ 2, samples), got shape {audio.shape}")
    if audio.shape[1] == 0:
        raise SpectrocanvasError("waveform is empty: a video needs at least one audio sample")
    if not np.isfinite(audio).all():
        raise SpectrocanvasError("waveform contains NaN or infinite values")
    # Normalise only when too loud: the canvas level is absolute, so a quiet sound stays quiet.
    peak = float(np.abs(audio).max())
    gain = AUDIO_PEAK / peak if peak > AUDIO_PEAK else 1.0
    audio = audio * np.float32(gain)
    if out_rate != sample_rate:
        audio = soxr.resample(audio.T, sample_rate, out_rate, quality="HQ").T
        audio = np.clip(audio, -1.0, 1.0)  # resampling ringing may overshoot by a hair
    return np.ascontiguousarray(audio, dtype=np.float32), gain


def _encode_audio_frames(encode: Callable[[Any], list[Any]], audio: np.ndarray, rate: int,
                         start: int, stop: int) -> list[Any]:
    """Feed audio (C, M) samples [start, stop) to ``encode`` (an AAC stream's or codec's) in 1024-sample frames."""
    import av  # PyAV loads FFmpeg's shared libraries on import: only where a video is written or read

    layout = "mono" if audio.shape[0] == 1 else "stereo"
    packets = []
    for begin in range(start, stop, _AAC_FRAME):
        chunk = np.ascontiguousarray(audio[:, begin:min(begin + _AAC_FRAME, stop)])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
        frame.sample_rate, frame.pts, frame.time_base = rate, begin, Fraction(1, rate)
        packets.extend(encode(frame))
    return packets


def _aac_headroom(audio: np.ndarray, rate: int, bitrate: int) -> float:
    """The factor (≤ 1) that keeps the *decoded* AAC track of audio (C, M) within ±1.

    Lossy coding can overshoot the input's peak: FFmpeg's AAC encoder turns a 0.99 sine that
    starts abruptly into a 1.22 peak in its first frame. So the track is encoded and decoded on
    the side (about 0.25 s for 10 s of audio, usually once), and scaled down until the round trip
    stays in range. The encoder is deterministic, so the muxed track decodes to the same peak.
    """
    import av  # PyAV loads FFmpeg's shared libraries on import: only where a video is written or read

    factor = 1.0
    for _ in range(6):
        encoder = av.CodecContext.create("aac", "w")
        encoder.sample_rate, encoder.format, encoder.bit_rate = rate, "fltp", bitrate
        encoder.layout = "mono" if audio.shape[0] == 1 else "stereo"
        encoder.time_base = Fraction(1, rate)
        scaled = audio * np.float32(factor) if factor != 1.0 else audio
        packets = _encode_audio_frames(encoder.encode, scaled, rate, 0, scaled.shape[1]) + list(encoder.encode(None))
        decoder = av.CodecContext.create("aac", "r")
        decoder.extradata = encoder.extradata
        peak = max((float(np.abs(f.to_ndarray()).max()) for p in packets for f in decoder.decode(p)), default=0.0)
        if peak <= 1.0:
            return factor
        factor *= 0.97 / peak  # the overshoot is not linear in the level: aim a little lower
    raise SpectrocanvasError("the AAC encoder keeps clipping this waveform, even at reduced level")


def _playhead_yuv(color: tuple[int, int, int]) -> tuple[int, int, int]:
    """RGB colour → its (Y, U, V) bytes, via the same conversion as the picture."""
    block = np.empty((2, 2, 3), np.uint8)
    block[:] = np.asarray(color, dtype=np.uint8)
    y, u, v = _rgb_to_yuv420(block)
    return int(y[0, 0]), int(u[0, 0]), int(v[0, 0])


def write_spectrogram_video(
    path: str | os.PathLike[str],
    *,
    picture: np.ndarray,
    waveform: np.ndarray,
    sample_rate: int,
    fps: int | Fraction = 25,
    playhead_color: tuple[int, int, int] = (255, 64, 64),
    audio_bitrate: int = 128000,
    crf: int = 20,
    progress: Callable[[int, int], None] | None = None,
    comment: str | None = None,
) -> dict[str, Any]:
    """Write an MP4 of ``picture`` with a 2-px playhead sweeping left → right in step with ``waveform``.

    picture: uint8 (H, W) gray or (H, W, 3) RGB. waveform: float (samples,) or (channels ≤ 2,
    samples) at ``sample_rate``, any level (scaled to peak 0.99 only if louder). At time t the
    playhead is at column t / duration × W. ``comment`` is written into the file's metadata. The file
    appears at ``path`` only once complete (an existing file there is replaced). Returns a
    description of what was written, for meta.json.
    """
    import av  # PyAV loads FFmpeg's shared libraries on import: only where a video is written or read

    if not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise SpectrocanvasError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    fps_q = Fraction(fps).limit_denominator(1001)
    if fps_q <= 0:
        raise SpectrocanvasError(f"fps must be positive, got {fps!r}")
    if len(playhead_color) != 3 or not all(0 <= int(c) <= 255 for c in playhead_color):
        raise SpectrocanvasError(f"playhead_color must be three values in 0–255, got {playhead_color!r}")

    rgb, factor = _prepare_picture(picture)
    height, width = rgb.shape[:2]
    content_width = np.asarray(picture).shape[1] * factor  # without the even-size padding column
    out_rate = _audio_rate(int(sample_rate))
    audio, gain = _prepare_audio(waveform, int(sample_rate), out_rate)
    try:
        headroom = _aac_headroom(audio, out_rate, int(audio_bitrate))
    except av.FFmpegError as exc:
        raise SpectrocanvasError(f"could not encode the audio track: {exc}") from exc
    if headroom != 1.0:
        audio *= np.float32(headroom)
        gain *= headroom
    n_samples = np.asarray(waveform).shape[-1]
    duration = Fraction(n_samples, int(sample_rate))
    n_frames = math.ceil(duration * fps_q)

    base_y, base_u, base_v = _rgb_to_yuv420(rgb)
    # PyAV's yuv420p ndarray is the three planes back to back, shaped (H * 3/2, W).
    base = np.concatenate([base_y.ravel(), base_u.ravel(), base_v.ravel()])
    luma_size = height * width
    head_y, head_u, head_v = _playhead_yuv(playhead_color)

    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise SpectrocanvasError(f"cannot write video {path}: folder {directory} does not exist")
    try:
        with atomic_path(path) as temporary:
            with av.open(str(temporary), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
                if comment:
                    container.metadata["comment"] = comment
                vstream = container.add_stream("libx264", rate=fps_q)
                vstream.width, vstream.height, vstream.pix_fmt = width, height, "yuv420p"
                ctx = vstream.codec_context
                ctx.color_primaries = ctx.color_trc = ctx.colorspace = 1  # BT.709
                ctx.color_range = 1  # limited ("MPEG") range, what browsers assume
                # veryfast keeps CABAC/B-frames (High profile); a 2 s GOP lets players seek quickly.
                ctx.gop_size = max(1, round(2 * fps_q))
                ctx.options = {"preset": "veryfast", "crf": str(int(crf)), "profile": "high", "tune": "stillimage"}

                astream = container.add_stream("aac", rate=out_rate)
                astream.layout = "mono" if audio.shape[0] == 1 else "stereo"
                astream.bit_rate = int(audio_bitrate)

                audio_done = 0
                total_audio = audio.shape[1]
                for index in range(n_frames):
                    # Playhead column at this frame's time, snapped to even so the 2-px line covers
                    # whole chroma samples and keeps its colour.
                    t = Fraction(index) / fps_q
                    x = int(t / duration * content_width)
                    x = min(max(x - x % 2, 0), width - 2)
                    frame_data = base.copy()
                    frame_data[:luma_size].reshape(height, width)[:, x:x + 2] = head_y
                    planes = frame_data[luma_size:].reshape(2, height // 2, width // 2)
                    planes[0, :, x // 2] = head_u
                    planes[1, :, x // 2] = head_v
                    frame = av.VideoFrame.from_ndarray(frame_data.reshape(height * 3 // 2, width), format="yuv420p")
                    frame.pts = index
                    frame.time_base = 1 / fps_q
                    container.mux(vstream.encode(frame))

                    # Interleave: encode the audio up to the end of this video frame.
                    audio_until = min(total_audio, math.ceil((index + 1) / fps_q * out_rate))
                    if audio_done < audio_until:  # whole AAC frames, so the encode matches the trial run
                        whole_frames = math.ceil((audio_until - audio_done) / _AAC_FRAME)
                        stop = min(total_audio, audio_done + whole_frames * _AAC_FRAME)
                        container.mux(_encode_audio_frames(astream.encode, audio, out_rate, audio_done, stop))
                        audio_done = stop
                    if progress is not None:
                        progress(index + 1, n_frames)
                container.mux(vstream.encode(None))
                container.mux(astream.encode(None))
    except (av.FFmpegError, OSError) as exc:  # encoder or disk: one line (atomic_path left nothing behind)
        raise SpectrocanvasError(f"could not write video {path}: {exc}") from exc

    return {
        "path": path,
        "container": "mp4",
        "video_codec": "h264",
        "video_encoder": "libx264",
        "video_profile": "high",
        "pix_fmt": "yuv420p",
        "crf": int(crf),
        "fps": float(fps_q),
        "frames": n_frames,
        "width": width,
        "height": height,
        "scale": factor,
        "duration": float(duration),
        "video_duration": float(n_frames / fps_q),
        "audio_codec": "aac",
        "audio_sample_rate": out_rate,
        "audio_channels": int(audio.shape[0]),
        "audio_bitrate": int(audio_bitrate),
        "audio_gain": gain,
        "audio_normalisation": (f"peak-normalised to {AUDIO_PEAK} only if the waveform's peak exceeds it; "
                                "lowered further if the decoded AAC would exceed 1.0"),
        "playhead_color": [int(c) for c in playhead_color],
        "comment": comment,
        "size_bytes": os.path.getsize(path),
    }


def probe_video(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Describe a media file's streams: {'duration', 'format', 'streams': [{type, codec, duration, ...}]}.

    Video streams add width, height, fps, frames, pix_fmt, profile; audio streams add
    sample_rate and channels. Durations are in seconds (None where the file does not say).
    """
    import av  # PyAV loads FFmpeg's shared libraries on import: only where a video is written or read

    try:
        container = av.open(os.fspath(path))
    except Exception as exc:
        raise SpectrocanvasError(f"cannot read video {os.fspath(path)}: {exc}") from None
    with container:
        streams = []
        for stream in container.streams:
            info: dict[str, Any] = {
                "index": stream.index,
                "type": stream.type,
                "codec": stream.codec_context.name,
                "duration": (float(stream.duration * stream.time_base)
                             if stream.duration is not None and stream.time_base else None),
            }
            if stream.type == "video":
                info.update(width=stream.width, height=stream.height, frames=stream.frames,
                            fps=float(stream.average_rate) if stream.average_rate else None,
                            pix_fmt=stream.codec_context.pix_fmt, profile=stream.codec_context.profile)
            elif stream.type == "audio":
                info.update(sample_rate=stream.codec_context.sample_rate, channels=stream.codec_context.channels,
                            frames=stream.frames, profile=stream.codec_context.profile)
            streams.append(info)
        return {
            "format": container.format.name,
            "duration": container.duration / 1e6 if container.duration is not None else None,
            "comment": dict(container.metadata).get("comment"),
            "streams": streams,
        }
