"""Fixed-window rate limits in Redis (shared by every web node)."""

from __future__ import annotations

import time

import redis

from gateway.queue import breaker_for


def hit(connection: redis.Redis, *, scope: str, who: str, limit: tuple[int, int]) -> bool:
    """Count one request; False when ``who`` is over ``limit`` (count, seconds) in ``scope``.

    Fails open when Redis is unreachable or slow: intake must keep working without it.
    """
    count, window = limit
    bucket = int(time.time() // window)
    key = f"pakn:rl:{scope}:{who}:{bucket}"

    def count_it() -> bool:
        pipe = connection.pipeline()
        pipe.incr(key)
        pipe.expire(key, window + 5)
        return int(pipe.execute()[0]) <= count

    return breaker_for(connection).call(f"rate limit {scope}", count_it, True)
