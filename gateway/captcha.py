"""Self-hosted image captcha with no server-side state.

The form carries a signed, timed token holding a random nonce; the answer is derived
from the nonce with an HMAC of the secret key, so the image route and the check can
both recompute it and nothing secret is ever sent to the browser. Each nonce is
accepted once (remembered in Redis while it is valid).

The answer is digits only, so that it can also be heard: :func:`audio` joins the
shipped recordings of the Vietnamese digits (``gateway/static/captcha/<d>.wav``,
made once with espeak-ng by ``scripts/captcha_audio.sh``) with Python's ``wave`` module.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import random
import secrets
import threading
import time
import wave
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import redis
from itsdangerous import BadSignature, URLSafeTimedSerializer
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from gateway.queue import breaker_for

log = logging.getLogger(__name__)
ALPHABET = "0123456789"  # digits: read in the picture or heard in Vietnamese
LENGTH = 6
AUDIO_DIR = Path(__file__).parent / "static" / "captcha"
AUDIO_GAP_SECONDS = 0.6  # silence between two digits
MAX_AGE = 30 * 60
SALT = "pakn-captcha"


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=SALT)


def new_token(secret: str) -> str:
    """A fresh challenge token for a form."""
    return _serializer(secret).dumps(secrets.token_hex(12))


def _nonce(secret: str, token: str) -> str | None:
    try:
        value = _serializer(secret).loads(token, max_age=MAX_AGE)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def answer(secret: str, nonce: str) -> str:
    """The characters the image for ``nonce`` shows."""
    digest = hmac.new(secret.encode(), f"captcha:{nonce}".encode(), hashlib.sha256).digest()
    return "".join(ALPHABET[b % len(ALPHABET)] for b in digest[:LENGTH])


def answer_for_token(secret: str, token: str) -> str | None:
    """The answer behind a token, or None when the token is forged or expired."""
    nonce = _nonce(secret, token)
    return answer(secret, nonce) if nonce else None


def verify(secret: str, token: str, guess: str, connection: redis.Redis | None) -> bool:
    """True when ``guess`` answers ``token`` and the token was not used before."""
    nonce = _nonce(secret, token)
    if not nonce:
        return False
    typed = "".join(guess.split()).upper()
    if not hmac.compare_digest(typed.encode(), answer(secret, nonce).encode()):
        return False
    if connection is None:
        return True
    first_here = _first_use_here(nonce)  # always recorded: it is the check while Redis is away
    return breaker_for(connection).call(
        "captcha replay check", lambda: bool(connection.set(f"pakn:captcha:{nonce}", 1, nx=True, ex=MAX_AGE)),
        first_here)


_used_here: OrderedDict[str, float] = OrderedDict()
_used_lock = threading.Lock()
USED_HERE_MAX = 50_000


def _first_use_here(nonce: str) -> bool:
    """This process's own memory of spent nonces (a fallback: other web processes do not see it)."""
    now = time.monotonic()
    with _used_lock:
        while _used_here and (len(_used_here) > USED_HERE_MAX or next(iter(_used_here.values())) < now - MAX_AGE):
            _used_here.popitem(last=False)
        if nonce in _used_here:
            return False
        _used_here[nonce] = now
        return True


def render(text: str, seed: str) -> bytes:
    """A PNG of ``text`` with distortion and noise (deterministic per ``seed``)."""
    rng = random.Random(seed)
    width, height = 200, 70
    image = Image.new("RGB", (width, height), (245, 245, 240))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        draw.line([(rng.randint(0, width), rng.randint(0, height)) for _ in range(2)],
                  fill=(rng.randint(90, 170),) * 3, width=2)
    font = ImageFont.load_default(size=40)
    for index, char in enumerate(text):
        glyph = Image.new("RGBA", (50, 60), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((8, 4), char, font=font, fill=(rng.randint(0, 80), rng.randint(0, 60), 90))
        glyph = glyph.rotate(rng.uniform(-25, 25), resample=Image.Resampling.BICUBIC, expand=False)
        image.paste(glyph, (8 + index * 37, rng.randint(0, 12)), glyph)
    for _ in range(300):
        draw.point((rng.randint(0, width - 1), rng.randint(0, height - 1)), fill=(rng.randint(0, 200),) * 3)
    out = io.BytesIO()
    image.filter(ImageFilter.SMOOTH).save(out, format="PNG")
    return out.getvalue()


@lru_cache(maxsize=1)
def _digit_frames() -> tuple[tuple[int, int, int], dict[str, bytes]]:
    """(channels, sample width, rate) and the PCM frames of each shipped digit recording."""
    frames: dict[str, bytes] = {}
    params: tuple[int, int, int] | None = None
    for digit in "0123456789":
        with wave.open(str(AUDIO_DIR / f"{digit}.wav"), "rb") as clip:
            these = (clip.getnchannels(), clip.getsampwidth(), clip.getframerate())
            if params is not None and these != params:
                raise ValueError(f"{digit}.wav: format {these} differs from {params}")
            params = these
            frames[digit] = clip.readframes(clip.getnframes())
    assert params is not None
    return params, frames


def audio(text: str) -> bytes:
    """A WAV file saying the digits of ``text`` in Vietnamese, one by one with a pause between."""
    (channels, width, rate), frames = _digit_frames()
    gap = b"\0" * int(rate * AUDIO_GAP_SECONDS) * width * channels
    out = io.BytesIO()
    with wave.open(out, "wb") as joined:
        joined.setnchannels(channels)
        joined.setsampwidth(width)
        joined.setframerate(rate)
        joined.writeframes(gap + gap.join(frames[d] for d in text if d in frames) + gap)
    return out.getvalue()
