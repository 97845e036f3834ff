"""The secretary takes the call: the hand-off WebSocket (embedded mode) and the LiveKit room token (LiveKit mode)."""

from __future__ import annotations

import hmac
import logging
from datetime import timedelta
from typing import Annotated, Protocol
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request, WebSocket
from pydantic import BaseModel
from sqlmodel import Session

from console.api.queue import TAKE_ROLES, get_queue
from console.auth import SESSION_COOKIE, ConsoleUser, SessionCodec, console_user, require_role
from console.deps import SessionDep
from console.i18n import language_of, tr
from console.sockets import StarletteSocket
from escalation.queue import HumanQueue, QueueError
from practice.models import Ticket, TicketStatus, User
from practice.settings import Settings

log = logging.getLogger("permanence.handoff")

router = APIRouter(tags=["hand-off"])
Taker = Annotated[ConsoleUser, require_role(*TAKE_ROLES)]
HELD = (TicketStatus.claimed, TicketStatus.connected)
TOKEN_TTL = timedelta(hours=2)
CALL_NOT_LIVE = 4404
BRIDGE_FAILED = 4500


class HandoffSocket(Protocol):
    """The secretary's browser as the bridge sees it: her audio and commands in, the caller's audio out."""

    async def receive(self) -> str | bytes | None: ...

    async def send_bytes(self, data: bytes) -> None: ...

    async def send_text(self, text: str) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class LiveCalls(Protocol):
    """The calls in progress in this process (the composition root injects the agent's registry)."""

    def transport(self, call_id: str) -> str | None:
        """"media-stream" when the call is live here and can be bridged; None otherwise."""
        ...

    async def attach_secretary(self, call_id: str, socket: HandoffSocket, *, secretary_id: int) -> None:
        """Bridge her in; returns when either side hangs up. Raises an exception with a `code` if it cannot."""
        ...


class RoomDirectory(Protocol):
    """Which LiveKit room a call lives in (written by the LiveKit worker)."""

    def room_for(self, call_id: str) -> str | None: ...


class LiveKitToken(BaseModel):
    url: str
    room: str
    identity: str
    token: str


def _same_origin(websocket: WebSocket) -> bool:
    """Cross-site WebSocket hijacking guard: a browser's Origin must be this host."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser (test clients, tools): the session cookie and CSRF token still apply
    host = websocket.headers.get("host", "")
    return urlsplit(origin).netloc == host


def _secretary(websocket: WebSocket) -> tuple[ConsoleUser | None, str]:
    codec: SessionCodec = websocket.app.state.session_codec
    token = websocket.cookies.get(SESSION_COOKIE)
    data = codec.decode(token) if token else None
    if data is None or data.user_id is None:
        return None, ""
    with Session(websocket.app.state.engine) as session:
        user = session.get(User, data.user_id)
        if user is None or not user.active:
            return None, ""
        return console_user(session, user), data.csrf


def _held_ticket(websocket: WebSocket, ticket_id: str, user: ConsoleUser) -> Ticket | None:
    with Session(websocket.app.state.engine) as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None or not user.serves(ticket.practice_id):
            return None
        if ticket.claimed_by != user.id or ticket.status not in HELD:
            return None
        return ticket


@router.websocket("/ws/handoff/{ticket_id}")
async def handoff_socket(websocket: WebSocket, ticket_id: str, csrf: str = "") -> None:
    """Her microphone (binary 8 kHz μ-law) to the caller and the caller's audio back; JSON commands
    (`hold`, `resume`, `hangup`) in, JSON events (`state`, `transcript`) out. Only the ticket's holder."""
    user, expected = _secretary(websocket)
    allowed = (user is not None and user.role in TAKE_ROLES and _same_origin(websocket)
               and bool(csrf) and hmac.compare_digest(csrf, expected))
    if not allowed or user is None or _held_ticket(websocket, ticket_id, user) is None:
        await websocket.close(code=1008)  # before accept: the handshake is refused with HTTP 403
        return
    live: LiveCalls | None = getattr(websocket.app.state, "live_calls", None)
    await websocket.accept()
    socket = StarletteSocket(websocket)
    if live is None or live.transport(ticket_id) != "media-stream":
        await socket.close(CALL_NOT_LIVE, "call not live")
        return
    queue: HumanQueue = websocket.app.state.queue
    try:
        queue.connected(ticket_id, user.id)
    except QueueError as exc:
        log.warning("hand-off refused by the queue", extra={"ticket": ticket_id, "code": exc.code})
        await socket.close(4409, exc.code)
        return
    log.info("hand-off started", extra={"ticket": ticket_id, "user": user.id})
    try:
        await live.attach_secretary(ticket_id, socket, secretary_id=user.id)
    except Exception as exc:  # by type/code only
        log.warning("hand-off failed", extra={"ticket": ticket_id, "error": getattr(exc, "code", type(exc).__name__)})
        await socket.close(CALL_NOT_LIVE if getattr(exc, "code", "") else BRIDGE_FAILED, "call not live")
    finally:
        await socket.close(1000, "call ended")
        log.info("hand-off ended", extra={"ticket": ticket_id, "user": user.id})


@router.get("/api/tickets/{ticket_id}/livekit-token", response_model=LiveKitToken,
            summary="A LiveKit room token for the ticket's holder to join the caller's room (LiveKit mode)",
            responses={404: {"description": "Unknown ticket, not held by you, or not a LiveKit call"},
                       503: {"description": "LiveKit is not configured"}})
def livekit_token(ticket_id: str, user: Taker, session: SessionDep, request: Request) -> LiveKitToken:
    language = language_of(request)
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or not user.serves(ticket.practice_id) or ticket.claimed_by != user.id \
            or ticket.status not in HELD:
        raise HTTPException(status_code=404, detail=tr(language, "Ticket introuvable ou pris par quelqu'un d'autre."))
    rooms: RoomDirectory | None = getattr(request.app.state, "live_rooms", None)
    room = rooms.room_for(ticket_id) if rooms is not None else None
    if not room:
        raise HTTPException(status_code=404, detail=tr(language, "Cet appel ne passe pas par LiveKit."))
    settings: Settings = request.app.state.settings
    if not settings.livekit_configured:
        raise HTTPException(status_code=503, detail=tr(language, "LiveKit n'est pas configuré sur ce serveur."))
    identity = f"secretary-{user.id}"
    token = mint_room_token(settings, room=room, identity=identity, name=user.full_name)
    get_queue(request).connected(ticket_id, user.id)
    return LiveKitToken(url=settings.livekit_url, room=room, identity=identity, token=token)


def mint_room_token(settings: Settings, *, room: str, identity: str, name: str) -> str:
    """A short-lived access token: join this room only, publish her microphone, subscribe to the caller."""
    from livekit import api

    grants = api.VideoGrants(room_join=True, room=room, can_publish=True, can_subscribe=True,
                             can_publish_data=True)
    return (api.AccessToken(settings.livekit_api_key, settings.livekit_api_secret)
            .with_identity(identity).with_name(name).with_grants(grants).with_ttl(TOKEN_TTL)
            .with_attributes({"permanence.role": "secretary"}).to_jwt())
