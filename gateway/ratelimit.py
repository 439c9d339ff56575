"""Fixed-window rate limits in Redis (shared by every web node)."""

from __future__ import annotations

import logging
import time

import redis

from gateway.queue import REDIS_ERRORS

log = logging.getLogger(__name__)


def hit(connection: redis.Redis, *, scope: str, who: str, limit: tuple[int, int]) -> bool:
    """Count one request; False when ``who`` is over ``limit`` (count, seconds) in ``scope``.

    Fails open when Redis is unreachable: intake must keep working without it.
    """
    count, window = limit
    bucket = int(time.time() // window)
    key = f"pakn:rl:{scope}:{who}:{bucket}"
    try:
        pipe = connection.pipeline()
        pipe.incr(key)
        pipe.expire(key, window + 5)
        current = pipe.execute()[0]
    except REDIS_ERRORS:
        log.warning("rate limit %s not enforced: Redis unreachable", scope)
        return True
    return int(current) <= count
