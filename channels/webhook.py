"""Webhook deliveries: a signed JSON POST to a subscriber's URL."""

from __future__ import annotations

import ipaddress
import socket
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from channels.base import DeliveryResult, OutboundMessage

WEBHOOK_TIMEOUT = 10
PERMANENT = frozenset({410})  # Gone: the subscriber says never again


def private_target(url: str) -> str | None:
    """Why ``url`` must not be called from our network (loopback, private, link-local …), or None.

    Every address the host name resolves to must be a global one: a subscriber URL must
    not make the worker probe the internal network (SSRF).
    """
    host = urlsplit(url).hostname
    if not host:
        return "no host"
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        return f"cannot resolve {host}: {exc}"
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global:
            return f"{host} is {address}, not a public address"
    return None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A subscriber answers; it does not send the worker elsewhere (a redirect could point inside)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class WebhookSender:
    """POSTs the body with the headers the worker signed; 2xx is success."""

    def __init__(self, timeout: float = WEBHOOK_TIMEOUT, user_agent: str = "PAKN-gateway-webhooks/1",
                 allow_private: bool = False) -> None:
        self.timeout = timeout
        self.user_agent = user_agent
        self.allow_private = allow_private
        self.opener = urllib.request.build_opener(_NoRedirects)

    def send(self, message: OutboundMessage) -> DeliveryResult:
        """Deliver once; failures come back as a DeliveryResult (retryable unless 410)."""
        refused = None if self.allow_private else private_target(message.recipient)
        if refused is not None:
            return DeliveryResult(ok=False, error=f"refused: {refused}", retryable=False)
        headers = {"User-Agent": self.user_agent, "Content-Type": "application/json; charset=utf-8",
                   **message.headers}
        request = urllib.request.Request(message.recipient, data=message.body.encode("utf-8"), headers=headers,
                                         method="POST")
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            return DeliveryResult(ok=False, error=f"HTTP {exc.code}", retryable=exc.code not in PERMANENT)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            return DeliveryResult(ok=False, error=f"{type(exc).__name__}: {exc}", retryable=True)
        if 200 <= status < 300:
            return DeliveryResult(ok=True, provider_id=f"HTTP {status}")
        return DeliveryResult(ok=False, error=f"HTTP {status}", retryable=True)

    def find_sent(self, message: OutboundMessage, since: datetime) -> DeliveryResult | None:
        """A subscriber cannot be asked; receivers de-duplicate by X-PAKN-Delivery."""
        return None
