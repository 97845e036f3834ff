"""Console authentication: signed session cookie, current user, roles, tenancy, CSRF and login lock-out."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from redis import Redis
from redis.exceptions import RedisError
from sqlmodel import Session, select

from console.i18n import N_
from escalation.queue import Secretary
from escalation.queue_keys import QueueKeys
from practice.models import Practice, Role, User, UserPractice
from practice.passwords import hash_password, verify_password
from practice.settings import Settings

log = logging.getLogger("permanence.auth")

SESSION_COOKIE = "permanence_session"
SESSION_MAX_AGE_S = 12 * 3600
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
GROUP_WIDE_ROLES = frozenset({Role.manager, Role.admin})


class MissingSecretKey(RuntimeError):
    """Outside demo mode the console will not start without PERMANENCE_SECRET_KEY."""


def resolve_secret_key(settings: Settings) -> str:
    """The key that signs session cookies; demo mode may run on a random per-process key."""
    if settings.secret_key:
        return settings.secret_key
    if settings.demo_mode:
        log.warning("PERMANENCE_SECRET_KEY is empty: demo mode uses a random key (sessions end at restart)")
        return secrets.token_urlsafe(32)
    raise MissingSecretKey(
        "PERMANENCE_SECRET_KEY n'est pas défini : la console refuse de démarrer sans clé secrète hors du mode "
        "démonstration. Générez-en une (python -c 'import secrets; print(secrets.token_urlsafe(32))') et "
        "mettez-la dans l'environnement ou le fichier .env."
    )


# --- the session cookie ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionData:
    """What the signed cookie carries: the CSRF token, and the user once logged in."""

    csrf: str
    user_id: int | None = None


class SessionCodec:
    """Signs and checks the session cookie (itsdangerous, timestamped, salted)."""

    def __init__(self, secret_key: str, *, max_age_s: int = SESSION_MAX_AGE_S) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="permanence-session")
        self.max_age_s = max_age_s

    def encode(self, data: SessionData) -> str:
        return str(self._serializer.dumps({"c": data.csrf, "u": data.user_id}))

    def decode(self, token: str) -> SessionData | None:
        try:
            raw: Any = self._serializer.loads(token, max_age=self.max_age_s)
        except BadSignature:
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("c"), str):
            return None
        user_id = raw.get("u")
        return SessionData(csrf=raw["c"], user_id=user_id if isinstance(user_id, int) else None)


def new_session(user_id: int | None = None) -> SessionData:
    """A fresh session with a fresh CSRF token (a new one at every login: no fixation)."""
    return SessionData(csrf=secrets.token_urlsafe(24), user_id=user_id)


def read_session(request: Request) -> SessionData | None:
    if "session_data" in request.scope:
        cached: SessionData | None = request.scope["session_data"]
        return cached
    token = request.cookies.get(SESSION_COOKIE)
    codec: SessionCodec = request.app.state.session_codec
    data = codec.decode(token) if token else None
    request.scope["session_data"] = data
    return data


def write_session(request: Request, response: Response, data: SessionData) -> None:
    """Set the cookie: HttpOnly, SameSite=Lax, Secure when the request came over https."""
    codec: SessionCodec = request.app.state.session_codec
    response.set_cookie(SESSION_COOKIE, codec.encode(data), max_age=codec.max_age_s, httponly=True,
                        samesite="lax", secure=request.url.scheme == "https", path="/")
    request.scope["session_data"] = data


def clear_session(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=request.url.scheme == "https")


def ensure_session(request: Request, response: Response) -> SessionData:
    """The request's session, or a new anonymous one set on the response (so forms get a CSRF token)."""
    data = read_session(request)
    if data is None:
        data = new_session()
        write_session(request, response, data)
    return data


# --- users, roles and tenancy --------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsoleUser:
    """A logged-in console user with the practices she may see."""

    id: int
    username: str
    full_name: str
    role: str
    skills: tuple[str, ...]
    practice_ids: tuple[int, ...]

    @property
    def secretary(self) -> Secretary:
        return Secretary(id=self.id, practice_ids=self.practice_ids, skills=self.skills)

    def serves(self, practice_id: int | None) -> bool:
        return practice_id is not None and practice_id in self.practice_ids


def practice_ids_for(session: Session, user: User) -> tuple[int, ...]:
    """Tenancy: a secretary serves her practices; managers and admins see every practice of the group."""
    if user.role in GROUP_WIDE_ROLES:
        query: Any = select(Practice.id)
    else:
        query = select(UserPractice.practice_id).where(UserPractice.user_id == user.id)
    return tuple(sorted(int(p) for p in session.exec(query) if p is not None))


def console_user(session: Session, user: User) -> ConsoleUser:
    assert user.id is not None
    skills = tuple(dict.fromkeys([*user.skills, *user.languages]))
    return ConsoleUser(id=user.id, username=user.username, full_name=user.full_name or user.username,
                       role=user.role, skills=skills, practice_ids=practice_ids_for(session, user))


def optional_user(request: Request) -> ConsoleUser | None:
    """The logged-in user, read in a short session of its own (an event stream must not hold a connection)."""
    data = read_session(request)
    if data is None or data.user_id is None:
        return None
    with Session(request.app.state.engine) as session:
        user = session.get(User, data.user_id)
        if user is None or not user.active:
            return None
        return console_user(session, user)


def current_user(user: Annotated[ConsoleUser | None, Depends(optional_user)]) -> ConsoleUser:
    if user is None:
        raise HTTPException(status_code=401, detail=N_("Connexion requise."))
    return user


def require_role(*roles: str) -> Any:
    """A dependency that lets only these roles through (403 otherwise, 401 when not logged in)."""
    allowed = frozenset(roles)

    def check(user: Annotated[ConsoleUser, Depends(current_user)]) -> ConsoleUser:
        if user.role not in allowed:
            raise HTTPException(status_code=403, detail=N_("Votre rôle ne permet pas cette action."))
        return user

    return Depends(check)


CurrentUser = Annotated[ConsoleUser, Depends(current_user)]
OptionalUser = Annotated[ConsoleUser | None, Depends(optional_user)]


# --- CSRF ------------------------------------------------------------------------------------------------


async def csrf_protect(request: Request) -> None:
    """Unsafe methods must echo the session's token: header X-CSRF-Token (JSON) or field csrf_token (forms)."""
    if request.method in SAFE_METHODS:
        return
    data = read_session(request)
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and _is_form(request):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else ""
    if data is None or not sent or not hmac.compare_digest(sent, data.csrf):
        raise HTTPException(status_code=403, detail=N_("Jeton CSRF manquant ou invalide : rechargez la page."))


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "")
    return kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


CsrfProtected = Depends(csrf_protect)


# --- login rate limiting and lock-out ---------------------------------------------------------------------


class LoginLimiter:
    """Lock-out in Redis: `max_failures` failed logins per username and address in `window_s`, and
    `max_per_address` per address whatever the usernames (password spraying); then refused until the
    window ends. Redis down: logins are not limited (logged), so a Redis outage locks nobody out."""

    def __init__(self, redis: Redis, *, prefix: str = "perm", max_failures: int = 5, max_per_address: int = 30,
                 window_s: int = 900) -> None:
        self._redis = redis
        self.prefix = prefix
        self._keys = QueueKeys(prefix)
        self.max_failures = max_failures
        self.max_per_address = max_per_address
        self.window_s = window_s

    def key(self, username: str, address: str) -> str:
        digest = hashlib.sha256(f"{username.strip().lower()}|{address}".encode()).hexdigest()[:32]
        return self._keys.login_failures(digest)

    def address_key(self, address: str) -> str:
        digest = hashlib.sha256(f"|{address}".encode()).hexdigest()[:32]
        return self._keys.login_failures_address(digest)

    def locked_for(self, username: str, address: str) -> int:
        """Seconds left in the lock-out, 0 when the login may be tried."""
        limits = ((self.key(username, address), self.max_failures), (self.address_key(address), self.max_per_address))
        try:
            counts = self._redis.mget([key for key, _ in limits])
            over = [key for (key, limit), count in zip(limits, counts, strict=True)
                    if count is not None and int(count) >= limit]
            return max((max(1, int(self._redis.ttl(key))) for key in over), default=0)
        except RedisError:
            log.warning("login limiter unavailable (Redis); login not rate limited")
            return 0

    def failed(self, username: str, address: str) -> None:
        try:
            pipe = self._redis.pipeline(transaction=True)
            for key in (self.key(username, address), self.address_key(address)):
                pipe.incr(key)
                pipe.expire(key, self.window_s, nx=True)
            pipe.execute()
        except RedisError:
            log.warning("login limiter unavailable (Redis); failure not counted")

    def succeeded(self, username: str, address: str) -> None:
        try:
            self._redis.delete(self.key(username, address))
        except RedisError:
            log.warning("login limiter unavailable (Redis)")


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, else None (same cost either way)."""
    user = session.exec(select(User).where(User.username == username.strip())).first()
    if user is None or not user.active:
        verify_password(_dummy_hash(), password)  # same cost for unknown names: no username probing
        return None
    return user if verify_password(user.password_hash, password) else None


_DUMMY: dict[str, str] = {}


def _dummy_hash() -> str:
    if "h" not in _DUMMY:
        _DUMMY["h"] = hash_password(secrets.token_urlsafe(16))
    return _DUMMY["h"]
