"""Video probing, vPDQ hashing and keyframe strips, with PyAV.

vPDQ follows Meta's reference (facebook/ThreatExchange ``vpdq/``, ``hashVideoFile``):

* decoded frames are numbered 0, 1, 2, ... in decoder output order;
* with ``frame_mod = int(seconds_per_hash * fps)`` (1 when that is 0), every frame whose number is
  a multiple of ``frame_mod`` is hashed with PDQ, so ``seconds_per_hash=0`` hashes every frame;
* ``fps`` is the stream's average frame rate, else its real base frame rate (for bare elementary
  streams such as raw ``.h264``, which have no container timing, the codec's own frame rate);
* the timestamp of a hashed frame is ``frame_number / fps``.

Speed: decoding, not hashing, is the cost. Decoding is threaded (``thread_type="AUTO"``); frames
that are not sampled are never converted; a sampled frame is hashed from its luma plane directly
(no RGB conversion) by a numpy PDQ that is the reference's float pipeline vectorised: the two
Jarosz box-filter passes and the decimation to 64x64 are linear, so each of the 64x64 samples is
a fixed weighted sum of a few rows and columns (weights cached per frame size). On the same RGB
luma it gives ``pdqhash.compute``'s bits and quality. From the Y plane it reproduces what the
reference sees: its BT.601 YUV->RGB conversion followed by PDQ's BT.601 luma gives back
``(Y - 16) * 255 / 219``, and that scaling is applied (PDQ bits do not depend on it, quality
does). Other pixel formats go through RGB. Pre-scaling frames (e.g. to 512 px) was measured on
the chair vector and rejected: up to 18 bits from the reference, against 6 at full size.

Damaged input: ``probe_video`` raises :class:`VideoDecodeError` for empty, corrupt, non-video or
unopenable input (a truncated MP4 whose index is lost cannot be opened). When a container opens but
its data stops early or is damaged part-way (a truncated MKV/AVI/WebM, an MP4 cut after a front
index), hashing keeps every frame that decodes and ``VideoFacts.partial`` is set; only input from
which no frame decodes at all raises.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np
from PIL import Image

Source = Path | str | bytes | bytearray | memoryview | BinaryIO

#: Planar 8-bit YUV formats whose first plane is the luma, hashed without conversion.
_YUV8 = frozenset(
    {
        "yuv420p", "yuv422p", "yuv444p", "yuv410p", "yuv411p", "yuv440p", "nv12", "nv21",
        "yuvj420p", "yuvj422p", "yuvj444p", "yuvj440p", "yuvj411p", "yuva420p",
    }
)  # fmt: skip
#: Demuxers that open still images; those are not videos.
_STILL_IMAGE_FORMATS = ("image2", "_pipe")
#: Demuxers of bare elementary streams (e.g. CCTV exports), which have no container timing.
_RAW_FORMATS = frozenset({"h264", "hevc", "vvc", "m4v", "mpegvideo", "cavsvideo"})
#: A stream whose frames cover less than this share of its declared duration is partial.
_PARTIAL_COVERAGE = 0.9


class VideoDecodeError(ValueError):
    """The input is not a video that can be decoded (empty, corrupt, truncated or not video)."""


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What the container says about a video's first video stream."""

    duration_s: float
    width: int
    height: int
    codec: str
    fps: float
    frame_count: int | None
    #: The demuxer's name, e.g. "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi".
    container: str


@dataclass(frozen=True, slots=True)
class FrameHash:
    """One vPDQ feature: a sampled frame's PDQ (64 hex characters) and quality (0-100)."""

    frame_number: int
    quality: int
    pdq: str
    timestamp_s: float


@dataclass(frozen=True, slots=True)
class VideoFacts:
    """Everything the ingest keeps about one video."""

    info: VideoInfo
    frames: tuple[FrameHash, ...]
    keyframes: tuple[bytes, ...]
    #: True when decoding met damaged or missing data (e.g. a truncated file): ``frames`` then
    #: hold what decoded.
    partial: bool = False


# ------------------------------------------------------------------------------------------------
# Opening


#: The ingest's vPDQ sampling: every frame up to 30 frames a second (``frame_mod`` 1 at 30 fps and
#: below, 2 at 60 fps). Sub-second trims of fast-moving video land between 1 fps samples (one
#: frame apart is already ~28 bits on the synthetic test scenes), so a known video must be kept
#: this densely for a trimmed copy to match it at any phase.
DENSE_SECONDS_PER_HASH = 1.0 / 30.0


def _open(source: Source) -> av.container.InputContainer:
    if isinstance(source, bytes | bytearray | memoryview):
        if len(source) == 0:
            raise VideoDecodeError("cannot decode video: the input is empty (0 bytes)")
        target: str | BinaryIO = io.BytesIO(bytes(source))
    elif isinstance(source, Path | str):
        path = Path(source)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise VideoDecodeError(f"cannot read video {path}: {exc}") from exc
        if size == 0:
            raise VideoDecodeError(f"cannot decode video {path}: the file is empty (0 bytes)")
        target = str(path)
    else:
        target = source
    try:
        return av.open(target, mode="r")
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise VideoDecodeError(f"cannot decode video: not a readable container ({exc})") from exc


def _video_stream(container: av.container.InputContainer) -> av.VideoStream:
    name = container.format.name
    if any(name == f or name.endswith(f) for f in _STILL_IMAGE_FORMATS):
        raise VideoDecodeError(f"cannot decode video: the input is a still image ({name})")
    streams = [
        s
        for s in container.streams.video
        if not s.disposition & av.stream.Disposition.attached_pic  # cover art, not the video
    ]
    if not streams:
        raise VideoDecodeError(f"cannot decode video: the {name} container has no video stream")
    stream = streams[0]
    ctx = stream.codec_context
    if not ctx.width or not ctx.height:
        raise VideoDecodeError("cannot decode video: the video stream has no frame size")
    return stream


def _fps(stream: av.VideoStream) -> float:
    rates = [stream.average_rate, stream.base_rate, stream.guessed_rate]
    if stream.container.format.name in _RAW_FORMATS:
        # Elementary streams carry no timestamps: the demuxer's rates are guesses (often 25),
        # the codec's own timing (H.264 VUI, MPEG sequence header) is the real one.
        rates = [stream.codec_context.framerate, stream.guessed_rate, *rates]
    for rate in rates:
        if rate and rate > 0:
            return float(rate)
    return 0.0


def _header_duration(container: av.container.InputContainer, stream: av.VideoStream) -> float:
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    if stream.duration is not None and stream.duration > 0 and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return 0.0


def _stream_duration(stream: av.VideoStream) -> float:
    if stream.duration is not None and stream.duration > 0 and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return 0.0


def _info(container: av.container.InputContainer, stream: av.VideoStream) -> VideoInfo:
    ctx = stream.codec_context
    return VideoInfo(
        duration_s=_header_duration(container, stream),
        width=int(ctx.width),
        height=int(ctx.height),
        codec=ctx.name,
        fps=_fps(stream),
        frame_count=int(stream.frames) if stream.frames and stream.frames > 0 else None,
        container=container.format.name,
    )


def _frame_time(frame: av.VideoFrame, index: int, fps: float) -> float | None:
    if frame.pts is not None and frame.time_base is not None:
        return float(frame.pts * frame.time_base)
    return index / fps if fps > 0 else None


class _Damage:
    """Set by ``_decode`` when data was damaged or missing part-way."""

    def __init__(self) -> None:
        self.seen = False


def _decode(
    container: av.container.InputContainer,
    stream: av.VideoStream,
    threads: int,
    damage: _Damage | None = None,
) -> Iterator[av.VideoFrame]:
    """Decoded frames in output order; stops quietly at damaged or missing data.

    Damaged packets are skipped (the decoder resynchronises at the next keyframe, as ffmpeg does);
    a read error of the container ends the stream. ``damage`` records either.
    """
    damage = damage or _Damage()
    stream.thread_type = "AUTO"
    stream.thread_count = threads
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            packet = None
        except (av.error.FFmpegError, OSError):
            damage.seen = True
            packet = None
        try:
            frames = stream.decode(packet)  # None flushes the decoder
        except av.error.EOFError:
            return  # already flushed by the demuxer's final empty packet
        except (av.error.FFmpegError, OSError):
            damage.seen = True
            if packet is None:
                return
            continue
        yield from frames
        if packet is None:
            return


def probe_video(source: Source) -> VideoInfo:
    """Container facts of a video (path, bytes or seekable binary file).

    Duration: the container's, else the video stream's, else the time of the last decoded frame
    (plus one frame). Raises :class:`VideoDecodeError` for input that is not a decodable video.
    """
    with _opened(source) as (container, stream, info):
        if info.duration_s <= 0:
            info = _with_decoded_duration(container, stream, info)
        return info


def _with_decoded_duration(
    container: av.container.InputContainer, stream: av.VideoStream, info: VideoInfo
) -> VideoInfo:
    first = last = None
    count = 0
    for frame in _decode(container, stream, threads=0):
        t = _frame_time(frame, count, info.fps)
        count += 1
        if t is not None:
            first = t if first is None else first
            last = t
    if count == 0:
        raise VideoDecodeError("cannot decode video: no frame could be decoded")
    frame_s = 1.0 / info.fps if info.fps > 0 else 0.0
    if last is None or first is None or info.container in _RAW_FORMATS:
        duration = count * frame_s
    else:
        duration = last - first + frame_s
    return dataclasses.replace(info, duration_s=duration, frame_count=info.frame_count or count)


# ------------------------------------------------------------------------------------------------
# PDQ on luma (the reference's float pipeline, vectorised)


@functools.lru_cache(maxsize=64)
def _tent(n: int) -> tuple[np.ndarray, np.ndarray]:
    """PDQ's downscale of n samples to 64, as (64, K) source indices and float32 weights.

    Two passes of the reference's box filter (``box1DFloat``: windows shrink at the edges), then
    decimation to the 64 sample centres. The whole is linear, so each output sample is a fixed
    weighted sum of at most ``2 * window - 1`` inputs; applying it needs no BLAS (whose threads
    would fight the decoder's for the cores).
    """
    window = (n + 2 * 64 - 1) // (2 * 64)
    half = (window + 2) // 2
    lo = np.maximum(np.arange(n) - (window - half), 0)
    hi = np.minimum(np.arange(n) + half - 1, n - 1)
    width = 2 * window - 1
    index = np.zeros((64, width), np.int64)
    weight = np.zeros((64, width), np.float64)
    for out, centre in enumerate(((np.arange(64) + 0.5) * n / 64).astype(np.int64)):
        acc: dict[int, float] = {}
        for j in range(lo[centre], hi[centre] + 1):
            share = 1.0 / (hi[centre] - lo[centre] + 1) / (hi[j] - lo[j] + 1)
            for k in range(lo[j], hi[j] + 1):
                acc[k] = acc.get(k, 0.0) + share
        for slot, (k, w) in enumerate(sorted(acc.items())):
            index[out, slot], weight[out, slot] = k, w
    return index, weight.astype(np.float32)


def _downscale(image: np.ndarray) -> np.ndarray:
    """The 64x64 float32 PDQ downscale of a 2-D array (uint8 or float luma)."""
    rows, cols = image.shape
    index, weight = _tent(rows)
    partial = np.zeros((64, cols), np.float32)
    for k in range(index.shape[1]):
        partial += image[index[:, k]] * weight[:, k, None]
    index, weight = _tent(cols)
    small = np.zeros((64, 64), np.float32)
    for k in range(index.shape[1]):
        small += partial[:, index[:, k]] * weight[:, k]
    return small


_DCT = np.array(
    [
        [
            math.sqrt(2.0 / 64) * math.cos(math.pi / 2.0 / 64 * (i + 1) * (2 * j + 1))
            for j in range(64)
        ]
        for i in range(16)
    ],
    dtype=np.float32,
)
_100 = np.float32(100)
_255 = np.float32(255)


def pdq_from_luma(luma: np.ndarray) -> tuple[str, int]:
    """PDQ hex and quality of a float32 luma image (0-255 scale), as the reference computes them."""
    rows, cols = luma.shape
    if rows < 5 or cols < 5:
        return "0" * 64, 0
    return _pdq_from_64(_downscale(luma))


def _pdq_from_64(small: np.ndarray) -> tuple[str, int]:
    down = np.trunc((small[:-1, :] - small[1:, :]) * _100 / _255)
    across = np.trunc((small[:, :-1] - small[:, 1:]) * _100 / _255)
    quality = min(int(np.abs(down).sum() + np.abs(across).sum()) // 90, 100)
    dct = (_DCT @ small @ _DCT.T).ravel()
    median = np.partition(dct, 127)[127]  # torben: the lower median of 256 values
    return np.packbits((dct > median)[::-1]).tobytes().hex(), quality


def _frame_pdq(frame: av.VideoFrame, width: int, height: int) -> tuple[str, int]:
    """PDQ of a decoded frame, from its luma plane where possible (see the module docstring)."""
    fmt = frame.format.name
    if not width and not height and fmt in _YUV8:
        plane = frame.planes[0]
        y = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        y = y[: frame.height, : frame.width]
        if y.shape[0] < 5 or y.shape[1] < 5:
            return "0" * 64, 0
        small = _downscale(y)
        full_range = fmt.startswith("yuvj") or frame.color_range == 2
        if not full_range:
            small = (small - np.float32(16)) * np.float32(255 / 219)
        return _pdq_from_64(small)
    rgb = frame.to_ndarray(
        format="rgb24",
        width=width or frame.width,
        height=height or frame.height,
        interpolation="AREA",
    )
    luma = (
        rgb[:, :, 0] * np.float32(0.299)
        + rgb[:, :, 1] * np.float32(0.587)
        + rgb[:, :, 2] * np.float32(0.114)
    )
    return pdq_from_luma(luma)


# ------------------------------------------------------------------------------------------------
# Hashing, strips and the combined pass


class _Strip:
    """Picks ``count`` frames evenly spaced over a decoding pass, as JPEGs.

    With a known duration it takes the first frame at or after each of the times
    ``duration * (i + 0.5) / count``. Without one it keeps small pictures of every ``stride``-th
    frame, doubling the stride whenever more than ``2 * count`` are kept, and picks evenly among
    them at the end: one pass, no seeking, bounded memory.
    """

    def __init__(self, count: int, size: tuple[int, int], duration: float) -> None:
        self.count, self.size = count, size
        self.pending = _strip_times(duration, count) if count > 0 else []
        self.by_time = duration > 0
        self.start: float | None = None
        self.jpegs: list[bytes] = []
        self.kept: list[Image.Image] = []
        self.stride = 1

    def offer(self, frame: av.VideoFrame, number: int) -> None:
        if self.count <= 0:
            return
        if not self.by_time:
            if number % self.stride == 0:
                self.kept.append(frame.to_image(width=self.size[0], height=self.size[1]))
                if len(self.kept) > 2 * self.count:
                    self.kept, self.stride = self.kept[::2], self.stride * 2
            return
        if not self.pending:
            return
        t = _frame_time(frame, number, 0.0)
        if t is not None:
            self.start = t if self.start is None else self.start
            t -= self.start
        if t is None or t >= self.pending[0] - 1e-6:
            self.jpegs.append(_jpeg(frame, self.size))
            while self.pending and (t is None or t >= self.pending[0] - 1e-6):
                self.pending.pop(0)

    def result(self) -> list[bytes]:
        if self.by_time:
            return self.jpegs
        n = len(self.kept)
        picks = sorted({int((i + 0.5) * n / self.count) for i in range(self.count)} if n else ())
        return [_jpeg_image(self.kept[i]) for i in picks]


@dataclass
class _Pass:
    frames: list[FrameHash]
    strip: list[bytes]
    partial: bool
    decoded: int


def _strip_size(stream: av.VideoStream, width: int) -> tuple[int, int]:
    ctx = stream.codec_context
    display_w = float(ctx.width)
    sar = stream.sample_aspect_ratio
    if sar is not None and sar > 0:
        display_w *= float(sar)
    height = max(2, 2 * round(width * ctx.height / display_w / 2))
    return width, height


def _jpeg_image(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def _jpeg(frame: av.VideoFrame, size: tuple[int, int]) -> bytes:
    return _jpeg_image(frame.to_image(width=size[0], height=size[1]))


def _pass(
    container: av.container.InputContainer,
    stream: av.VideoStream,
    info: VideoInfo,
    *,
    seconds_per_hash: float | None,
    downsample_width: int = 0,
    downsample_height: int = 0,
    threads: int = 0,
    strip: _Strip | None = None,
) -> _Pass:
    """One decoding pass: vPDQ of the sampled frames (unless ``seconds_per_hash`` is None) and
    the strip's frames. Raises :class:`VideoDecodeError` when no frame decodes."""
    fps = info.fps
    hashing = seconds_per_hash is not None
    spacing = max(seconds_per_hash or 0.0, 0.0)
    frame_mod = max(int(spacing * fps), 1) if fps > 0 else 0
    next_sample = 0.0  # only when the frame rate is unknown: sample by timestamps instead
    start: float | None = None
    hashes: list[FrameHash] = []
    damage = _Damage()
    number = -1
    for number, frame in enumerate(_decode(container, stream, threads, damage)):
        if hashing:
            if frame_mod:
                sampled = number % frame_mod == 0
                timestamp = number / fps
            else:
                t = _frame_time(frame, number, fps) or 0.0
                start = t if start is None else start
                timestamp = t - start
                sampled = timestamp >= next_sample - 1e-6
                if sampled:
                    next_sample = timestamp + spacing
            if sampled:
                pdq, quality = _frame_pdq(frame, downsample_width, downsample_height)
                hashes.append(FrameHash(number, quality, pdq, timestamp))
        if strip is not None:
            strip.offer(frame, number)
    decoded = number + 1
    if decoded == 0:
        raise VideoDecodeError("cannot decode video: no frame could be decoded")
    partial = damage.seen
    declared = _stream_duration(stream) or info.duration_s
    if not partial and declared > 0 and fps > 0:
        partial = decoded / fps < _PARTIAL_COVERAGE * declared - 1.0 / fps
    return _Pass(hashes, strip.result() if strip is not None else [], partial, decoded)


def vpdq_hash(
    source: Source,
    *,
    seconds_per_hash: float = 1.0,
    downsample_width: int = 0,
    downsample_height: int = 0,
    threads: int = 0,
) -> list[FrameHash]:
    """vPDQ features of a video, as Meta's reference ``hashVideoFile`` computes them.

    ``seconds_per_hash=0`` hashes every frame. ``downsample_width``/``downsample_height`` resize
    sampled frames first (0 keeps that dimension), as the reference does. ``threads`` is the
    decoder's thread count (0: automatic; give 1 inside a process pool). Damaged data keeps the
    frames that decoded; raises :class:`VideoDecodeError` when none do.
    """
    with _opened(source) as (container, stream, info):
        return _pass(
            container,
            stream,
            info,
            seconds_per_hash=seconds_per_hash,
            downsample_width=downsample_width,
            downsample_height=downsample_height,
            threads=threads,
        ).frames


def _strip_times(duration: float, count: int) -> list[float]:
    return [duration * (i + 0.5) / count for i in range(count)] if duration > 0 else []


#: Decode forward rather than seek when the next strip time is at most this far ahead (s); and
#: after a seek, decode at most this far past the keyframe towards the time.
_STRIP_FORWARD_S = 2.0


def _seek_strip(
    container: av.container.InputContainer,
    stream: av.VideoStream,
    info: VideoInfo,
    count: int,
    width: int,
) -> list[bytes]:
    """Frames at evenly spaced times, by seeking to the keyframe at or before each time.

    A time close ahead of the decoder's position is reached by decoding on (no seek); after a
    seek the decoder goes forward from the keyframe towards the time for at most
    ``_STRIP_FORWARD_S``, so sparse keyframes give distinct pictures without decoding whole
    groups of pictures. Raises ``av.error.FFmpegError`` when the input cannot seek.
    """
    size = _strip_size(stream, width)
    time_base = stream.time_base or Fraction(1, av.time_base)
    base = float(stream.start_time * time_base) if stream.start_time is not None else 0.0
    stream.thread_type = "AUTO"
    out: list[bytes] = []
    seen: set[int] = set()
    frames: Iterator[av.VideoFrame] | None = None
    position = -math.inf  # time of the last decoded frame
    for target in _strip_times(info.duration_s, count):
        chosen = None
        if frames is None or not 0 <= target - position <= _STRIP_FORWARD_S:
            offset = int((base + target) / time_base)
            container.seek(offset, stream=stream, backward=True, any_frame=False)
            frames, after_seek = container.decode(stream), True
        else:
            after_seek = False
        limit = math.inf
        try:
            for frame in frames:
                chosen = frame
                t = _frame_time(frame, 0, 0.0)
                if t is None:
                    break
                position = t - base
                if after_seek:  # the first frame after a seek is the keyframe
                    limit, after_seek = position + _STRIP_FORWARD_S, False
                if position >= target - 1e-6 or position >= limit:
                    break
            else:
                frames = None
        except (av.error.FFmpegError, OSError):
            frames = None  # damaged here: seek afresh for the next time
        if chosen is None:
            continue
        key = chosen.pts if chosen.pts is not None else -len(out) - 1
        if key not in seen:
            seen.add(key)
            out.append(_jpeg(chosen, size))
    return out


def keyframe_strip(source: Source, *, count: int = 8, width: int = 160) -> list[bytes]:
    """JPEGs of ``count`` frames evenly spaced over the video, ``width`` pixels wide.

    Frames are taken at ``duration * (i + 0.5) / count`` by seeking to keyframes. Input that
    cannot seek, or whose duration is unknown, is decoded once instead. A video with fewer
    distinct pictures than ``count`` (or a damaged one) gives fewer. Height keeps the display
    aspect ratio (even pixels).
    """
    if count <= 0:
        return []
    with _opened(source) as (container, stream, info):
        if info.duration_s > 0:
            try:
                return _seek_strip(container, stream, info, count, width)
            except (av.error.FFmpegError, OSError):
                pass  # not seekable: decode once below
        if not isinstance(source, Path | str | bytes | bytearray | memoryview):
            source.seek(0)
    with _opened(source) as (container, stream, info):
        strip = _Strip(count, _strip_size(stream, width), info.duration_s)
        return _pass(container, stream, info, seconds_per_hash=None, strip=strip).strip


def analyse_video(
    source: Source,
    *,
    seconds_per_hash: float = DENSE_SECONDS_PER_HASH,
    strip_count: int = 8,
    strip_width: int = 160,
    threads: int = 0,
) -> VideoFacts:
    """Probe, vPDQ-hash and keyframe-strip a video in one open and one decoding pass.

    The ingest hashes densely (every frame, at most 30 a second, ``DENSE_SECONDS_PER_HASH``) so
    that what Safeguard stores and exports matches copies trimmed by a fraction of a second;
    ``vpdq_hash`` keeps the reference's one frame a second by default.

    The strip frames come from the hashing pass itself (no seeking): at exactly evenly spaced
    times when the duration is known, else evenly spaced by frame count. Without a duration in
    the headers, ``info.duration_s`` is taken from the frames decoded.
    Raises :class:`VideoDecodeError` when the input is not a decodable video.
    """
    with _opened(source) as (container, stream, info):
        strip = _Strip(strip_count, _strip_size(stream, strip_width), info.duration_s)
        result = _pass(
            container,
            stream,
            info,
            seconds_per_hash=seconds_per_hash,
            threads=threads,
            strip=strip,
        )
    if info.duration_s <= 0 and info.fps > 0:
        info = dataclasses.replace(
            info,
            duration_s=result.decoded / info.fps,
            frame_count=info.frame_count or result.decoded,
        )
    return VideoFacts(
        info=info,
        frames=tuple(result.frames),
        keyframes=tuple(result.strip),
        partial=result.partial,
    )


@contextlib.contextmanager
def _opened(
    source: Source,
) -> Iterator[tuple[av.container.InputContainer, av.VideoStream, VideoInfo]]:
    """The open container, its first video stream and header facts; PyAV errors become
    :class:`VideoDecodeError`."""
    container = _open(source)
    try:
        stream = _video_stream(container)
        yield container, stream, _info(container, stream)
    except av.error.FFmpegError as exc:
        raise VideoDecodeError(f"cannot decode video: {exc}") from exc
    finally:
        container.close()


# ------------------------------------------------------------------------------------------------
# Benign synthetic videos, generated here for tests, demos and benchmarks (never real material)

#: Encoder per container, and the options that keep encoding quick.
_DEFAULT_CODECS = {"mp4": "libx264", "mov": "libx264", "mkv": "libx264", "avi": "mpeg4",
                   "webm": "libvpx"}  # fmt: skip
_FAST_OPTIONS = {
    "libx264": {"preset": "veryfast"},
    "libvpx": {"deadline": "realtime", "cpu-used": "8"},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8", "row-mt": "1"},
}
_CONTAINER_FORMATS = {"mkv": "matroska", "mov": "mov", "mp4": "mp4", "avi": "avi", "webm": "webm"}


class _Scene:
    """Coloured shapes moving over drifting, rotating colour waves: a pure function of time.

    Every second looks different from the last, and two seeds give unrelated pictures.
    """

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.base = rng.uniform(70, 185, 3).astype(np.float32)
        self.waves = [
            (
                rng.uniform(0.7, 2.2),  # cycles across the frame
                rng.uniform(0, 2 * math.pi),  # initial direction
                rng.uniform(0.25, 0.7) * rng.choice([-1, 1]),  # rotation (rad/s)
                rng.uniform(0, 2 * math.pi),  # phase
                rng.uniform(0.6, 1.6) * rng.choice([-1, 1]),  # phase speed (rad/s)
                rng.uniform(-60, 60, 3).astype(np.float32),  # colour amplitude
            )
            for _ in range(3)
        ]
        self.shapes = [
            (
                rng.uniform(0, 255, 3).astype(np.float32),
                rng.uniform(0.14, 0.34, 2),  # size (fraction of the frame)
                rng.uniform(0.07, 0.2, 2),  # Lissajous frequencies (Hz)
                rng.uniform(0, 2 * math.pi, 2),  # phases
                bool(rng.random() < 0.5),  # ellipse or rectangle
            )
            for _ in range(6)
        ]

    def render(self, t: float, width: int, height: int) -> np.ndarray:
        x = (np.arange(width, dtype=np.float32) + 0.5) / width
        y = (np.arange(height, dtype=np.float32) + 0.5) / height
        image = np.empty((height, width, 3), np.float32)
        image[:] = self.base
        for cycles, direction, turn, phase, speed, colour in self.waves:
            angle = direction + turn * t
            a = 2 * math.pi * cycles * math.cos(angle)
            b = 2 * math.pi * cycles * math.sin(angle)
            c = phase + speed * t
            # sin(a x + b y + c), separably
            wave = np.outer(np.cos(b * y + c), np.sin(a * x)) + np.outer(
                np.sin(b * y + c), np.cos(a * x)
            )
            image += wave[:, :, None] * colour
        for colour, size, freq, phases, ellipse in self.shapes:
            cx = 0.5 + 0.42 * math.sin(2 * math.pi * freq[0] * t + phases[0])
            cy = 0.5 + 0.42 * math.sin(2 * math.pi * freq[1] * t + phases[1])
            x0, x1 = np.searchsorted(x, [cx - size[0] / 2, cx + size[0] / 2])
            y0, y1 = np.searchsorted(y, [cy - size[1] / 2, cy + size[1] / 2])
            if x1 <= x0 or y1 <= y0:
                continue
            if ellipse:
                inside = ((x[None, x0:x1] - cx) / (size[0] / 2)) ** 2 + (
                    (y[y0:y1, None] - cy) / (size[1] / 2)
                ) ** 2 <= 1
                image[y0:y1, x0:x1][inside] = colour
            else:
                image[y0:y1, x0:x1] = colour
        return np.clip(image, 0, 255).astype(np.uint8)


def _output(
    destination: Path,
    container_format: str | None,
    codec: str | None,
    width: int,
    height: int,
    fps: float,
    bit_rate: int | None,
) -> tuple[av.container.OutputContainer, av.VideoStream, Fraction]:
    """An output container with one yuv420p video stream, and the frame time base to use."""
    suffix = destination.suffix.lower().lstrip(".")
    codec = codec or _DEFAULT_CODECS.get(suffix, "libx264")
    container = av.open(
        str(destination), mode="w", format=container_format or _CONTAINER_FORMATS.get(suffix)
    )
    rate = Fraction(fps).limit_denominator(1001)
    stream = container.add_stream(codec, rate=rate)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    if bit_rate:
        stream.bit_rate = bit_rate
    stream.options = dict(_FAST_OPTIONS.get(codec, {}))
    # Frame threads, one slice per picture: what cameras, phones and x264's defaults produce.
    stream.thread_type = "FRAME"
    return container, stream, 1 / rate


def synthetic_video(
    destination: Path,
    *,
    seconds: float = 10.0,
    width: int = 320,
    height: int = 240,
    fps: float = 15.0,
    seed: int = 0,
    codec: str | None = None,
    bit_rate: int | None = None,
    container_format: str | None = None,
) -> Path:
    """Write a benign synthetic video (moving shapes over drifting colour waves).

    The encoder follows the file suffix (.mp4/.mov/.mkv: H.264, .avi: MPEG-4 part 2, .webm: VP8)
    unless ``codec`` is given. Scenes are rendered at no more than 160 pixels wide and scaled by
    the pixel-format conversion, which keeps large videos quick to make.
    """
    destination = Path(destination)
    scene = _Scene(seed)
    render_w = min(width, 160)
    render_h = max(2, round(height * render_w / width))
    container, stream, time_base = _output(
        destination, container_format, codec, width, height, fps, bit_rate
    )
    with container:
        for index in range(round(seconds * fps)):
            rgb = scene.render(index / fps, render_w, render_h)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame = frame.reformat(width=width, height=height, format="yuv420p")
            frame.pts, frame.time_base = index, time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return destination


def transcode(
    source: Path,
    destination: Path,
    *,
    start_s: float = 0.0,
    end_s: float | None = None,
    width: int | None = None,
    height: int | None = None,
    codec: str | None = None,
    bit_rate: int | None = None,
) -> Path:
    """Re-encode ``source`` (optionally only ``[start_s, end_s)``, resized) into ``destination``.

    What a re-upload or a cut clip of a known video looks like: other resolution, other bitrate,
    other codec or container, same pictures. Used on the benign synthetic videos.
    """
    destination = Path(destination)
    with av.open(str(source)) as src:
        video = src.streams.video[0]
        fps = _fps(video) or 25.0
        width = width or video.codec_context.width
        height = height or video.codec_context.height
        container, stream, time_base = _output(
            destination, None, codec, width, height, fps, bit_rate
        )
        with container:
            first: float | None = None
            written = 0
            for number, frame in enumerate(src.decode(video)):
                t = _frame_time(frame, number, fps) or 0.0
                first = t if first is None else first
                t -= first
                if t < start_s - 1e-6:
                    continue
                if end_s is not None and t >= end_s - 1e-6:
                    break
                out = frame.reformat(width=width, height=height, format="yuv420p")
                out.pts, out.time_base = written, time_base
                written += 1
                container.mux(stream.encode(out))
            container.mux(stream.encode(None))
    return destination
