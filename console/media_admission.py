"""Who may open a call on /media-stream: the carrier with MEDIA_STREAM_TOKEN, or a client this console signed for."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from itsdangerous import BadSignature, URLSafeTimedSerializer

from console.auth import SESSION_MAX_AGE_S
from practice.settings import Settings

TOKEN_PARAMETER = "token"  # in the `start` event's customParameters (a Twilio <Parameter name="token" ...>)


class MediaStreamAdmission:
    """Checks `start.customParameters["token"]` before a call opens.

    Admitted: the carrier's shared MEDIA_STREAM_TOKEN, or a token this console signed for its own clients (the
    softphone page, which only a signed-in user or a demo visitor sees, and `permanence call`). In demo mode
    without a carrier token every call is admitted; outside it, no token configured means carrier calls are refused.
    """

    def __init__(self, *, secret_key: str, carrier_token: str = "", open_to_all: bool = False,
                 max_age_s: int = SESSION_MAX_AGE_S) -> None:
        self._signer = URLSafeTimedSerializer(secret_key, salt="permanence-media-stream")
        self._carrier_token = carrier_token.encode()
        self.open_to_all = open_to_all
        self.max_age_s = max_age_s

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaStreamAdmission:
        return cls(secret_key=settings.secret_key, carrier_token=settings.media_stream_token,
                   open_to_all=settings.demo_mode and not settings.media_stream_token)

    @property
    def carrier_token_set(self) -> bool:
        return bool(self._carrier_token)

    def client_token(self, user_id: int | None = None) -> str:
        """A token for one of this console's clients, valid as long as a console session."""
        return str(self._signer.dumps({"u": user_id}))

    def __call__(self, parameters: Mapping[str, str]) -> bool:
        token = parameters.get(TOKEN_PARAMETER, "")
        if self._carrier_token and hmac.compare_digest(token.encode(), self._carrier_token):
            return True
        return self._signed_here(token) or self.open_to_all

    def _signed_here(self, token: str) -> bool:
        if not token:
            return False
        try:
            self._signer.loads(token, max_age=self.max_age_s)
        except BadSignature:
            return False
        return True
