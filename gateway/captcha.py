"""Self-hosted image captcha with no server-side state.

The form carries a signed, timed token holding a random nonce; the answer is derived
from the nonce with an HMAC of the secret key, so the image route and the check can
both recompute it and nothing secret is ever sent to the browser. Each nonce is
accepted once (remembered in Redis while it is valid).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import random
import secrets

import redis
from itsdangerous import BadSignature, URLSafeTimedSerializer
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from gateway.queue import REDIS_ERRORS

log = logging.getLogger(__name__)
ALPHABET = "ACDEFHJKMNPRTUVWXY34679"  # no look-alikes (0/O, 1/I/L, 2/Z, 5/S, 8/B)
LENGTH = 5
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
    try:
        return bool(connection.set(f"pakn:captcha:{nonce}", 1, nx=True, ex=MAX_AGE))
    except REDIS_ERRORS:
        log.warning("captcha replay check skipped: Redis unreachable")
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
