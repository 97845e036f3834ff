"""Security headers on every response (CSP, framing, sniffing, referrer), as plain ASGI middleware."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'{connect}; "
    "media-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI's page starts itself with an inline script: /docs alone allows it.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
COMMON = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), geolocation=(), microphone=(self)"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class SecurityHeaders:
    """Adds the security headers to every HTTP response (streams included, no buffering)."""

    def __init__(self, app: ASGIApp, *, livekit_url: str = "") -> None:
        self.app = app
        self.strict_csp = STRICT_CSP.format(connect=_livekit_sources(livekit_url))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if str(scope.get("path", "")).startswith("/docs") else self.strict_csp

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _OURS]
                headers += [*COMMON, (b"content-security-policy", csp.encode())]
                if scope.get("scheme") == "https":
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _livekit_sources(url: str) -> str:
    """The LiveKit server's origins (signalling WebSocket and HTTP) a secretary's page may connect to."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return ""
    host = parts.netloc
    secure = parts.scheme in ("wss", "https")
    return f" {'wss' if secure else 'ws'}://{host} {'https' if secure else 'http'}://{host}"


_OURS = frozenset({k for k, _ in COMMON} | {b"content-security-policy", b"strict-transport-security"})
