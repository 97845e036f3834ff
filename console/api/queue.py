"""The secretary's queue API: what she may take, a ticket's summary, claim, release, close, presence, events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from console.auth import ConsoleUser, CsrfProtected, require_role
from console.deps import SessionDep
from console.events import EventBroadcaster, sse_stream, valid_stream_id
from console.i18n import N_, tr
from escalation.queue import HumanQueue, QueueEntry, TicketNotFound
from escalation.summary import HandoffSummary, SummaryPolisher, build_summary, display_phone, polish_summary
from escalation.ticket_store import TicketStore
from practice.models import AuditLog, Call, Patient, Practice, Practitioner, Role, Ticket, TicketStatus, Turn, utc_now

VIEW_ROLES = (Role.secretary, Role.manager, Role.admin)
TAKE_ROLES = (Role.secretary,)  # only secretaries take calls; managers and admins watch
PRESENCE_TIMEOUT_S = 45.0
WAITING_LIMIT = 200
VIEW_AUDIT_WINDOW_S = 600
Disposition = Literal[
    "resolved", "appointment_booked", "advised_15", "redirected_on_call", "message_forwarded",
    "callback_done", "caller_hung_up", "wrong_number",
]
DISPOSITIONS_FR: dict[str, str] = {
    "resolved": N_("Demande traitée"),
    "appointment_booked": N_("Rendez-vous pris"),
    "advised_15": N_("Orienté vers le 15 (SAMU)"),
    "redirected_on_call": N_("Orienté vers la garde (116 117, SOS Médecins, maison médicale)"),
    "message_forwarded": N_("Message transmis au praticien"),
    "callback_done": N_("Rappel effectué"),
    "caller_hung_up": N_("L'appelant a raccroché"),
    "wrong_number": N_("Erreur de numéro"),
}


def dispositions_in(language: str) -> dict[str, str]:
    """The dispositions a secretary chooses from when she closes a ticket, in her language."""
    return {key: tr(language, label) for key, label in DISPOSITIONS_FR.items()}


router = APIRouter(prefix="/api", tags=["queue"])
Viewer = Annotated[ConsoleUser, require_role(*VIEW_ROLES)]
Taker = Annotated[ConsoleUser, require_role(*TAKE_ROLES)]


def get_queue(request: Request) -> HumanQueue:
    queue: HumanQueue = request.app.state.queue
    return queue


QueueDep = Annotated[HumanQueue, Depends(get_queue)]


class QueueItem(BaseModel):
    id: str
    practice_id: int | None
    practice_name: str
    level: str
    status: str
    kind: str
    reason: str
    caller_number: str
    created_at: datetime
    waited_s: float
    sla_breached: bool
    requeued: bool
    mine: bool


class CallbackItem(BaseModel):
    id: str
    practice_id: int | None
    practice_name: str
    level: str
    reason: str
    caller_number: str
    created_at: datetime
    callback_due: datetime | None


class QueueView(BaseModel):
    """The secretary's screen: tickets she may take (best first), those she holds, callbacks to make."""

    waiting: list[QueueItem]
    waiting_total: int
    held: list[QueueItem]
    callbacks: list[CallbackItem]
    presence: str | None
    server_time: datetime


class TicketDetail(BaseModel):
    id: str
    status: str
    level: str
    kind: str
    practice_id: int | None
    created_at: datetime
    claimed_by: int | None
    claimed_at: datetime | None
    disposition: str
    mine: bool
    summary: HandoffSummary
    summary_text: str


class TicketState(BaseModel):
    id: str
    status: str
    claimed_by: int | None
    disposition: str


class CloseBody(BaseModel):
    disposition: Disposition = Field(description="How the call ended: " + "; ".join(
        f"{k} = {v}" for k, v in DISPOSITIONS_FR.items()))
    note: str = Field(default="", max_length=2000, description="Free note, kept with the ticket")


class PresenceBody(BaseModel):
    status: Literal["available", "busy", "away"] = "available"


class PresenceState(BaseModel):
    status: str
    timeout_s: float


# --- reading -------------------------------------------------------------------------------------------


@router.get("/queue", response_model=QueueView, summary="Tickets this user may take, holds, and callbacks to make")
def get_queue_view(user: Viewer, queue: QueueDep, session: SessionDep, limit: int = WAITING_LIMIT) -> QueueView:
    present = queue.present(timeout_s=PRESENCE_TIMEOUT_S)
    waiting = queue.waiting_for(user.secretary, present=present)
    shown = waiting[: max(0, min(limit, 1000))]
    held = [e for e in (queue.entry(i) for i in queue.held_by(user.id)) if e is not None]
    rows = _tickets(session, [e.id for e in [*shown, *held]])
    names = _practice_names(session, user.practice_ids)
    return QueueView(
        waiting=[_item(e, rows.get(e.id), names, user) for e in shown],
        waiting_total=len(waiting),
        held=[_item(e, rows.get(e.id), names, user) for e in held],
        callbacks=_callbacks(session, user, names),
        presence=present.get(user.id),
        server_time=datetime.now(UTC),
    )


@router.get("/tickets/{ticket_id}", response_model=TicketDetail, summary="A ticket with its hand-off summary")
def get_ticket(ticket_id: str, user: Viewer, session: SessionDep, request: Request) -> TicketDetail:
    ticket = _ticket_for(session, ticket_id, user)
    summary = polish_summary(_summary(session, ticket), _polisher(request))
    _audit_view(session, ticket, user)
    return TicketDetail(id=ticket.id, status=ticket.status, level=ticket.level, kind=ticket.kind,
                        practice_id=ticket.practice_id, created_at=ticket.created_at, claimed_by=ticket.claimed_by,
                        claimed_at=ticket.claimed_at, disposition=ticket.disposition, mine=ticket.claimed_by == user.id,
                        summary=summary, summary_text=summary.to_text())


@router.get(
    "/events",
    summary="Live queue events (Server-Sent Events, resumable with Last-Event-ID)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}},
                     "description": "`data:` is a JSON event {type, ticket, practice, level?, user?, at}"}},
)
async def events(
    user: Viewer, request: Request, last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    broadcaster: EventBroadcaster = request.app.state.queue_events
    mine = {str(p) for p in user.practice_ids}

    def visible(event: dict[str, Any]) -> bool:
        return str(event.get("practice")) in mine

    stream = sse_stream(broadcaster, visible, last_event_id=valid_stream_id(last_event_id))
    return StreamingResponse(stream, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


# --- changing ------------------------------------------------------------------------------------------


@router.post("/tickets/{ticket_id}/claim", response_model=TicketState, dependencies=[CsrfProtected],
             summary="Take a ticket (409 when someone else was faster)",
             responses={404: {"description": "Unknown ticket"}, 409: {"description": "Already taken"},
                        503: {"description": "Queue unavailable"}})
def claim(ticket_id: str, user: Taker, queue: QueueDep, session: SessionDep) -> TicketState:
    _ticket_for(session, ticket_id, user)
    return _state(queue.claim(ticket_id, user.id))


@router.post("/tickets/{ticket_id}/release", response_model=TicketState, dependencies=[CsrfProtected],
             summary="Put a held ticket back at the head of the queue")
def release(ticket_id: str, user: Taker, queue: QueueDep, session: SessionDep) -> TicketState:
    _ticket_for(session, ticket_id, user)
    return _state(queue.release(ticket_id, user.id))


@router.post("/tickets/{ticket_id}/close", response_model=TicketState, dependencies=[CsrfProtected],
             summary="Close a held ticket or a callback with a disposition and a note")
def close(ticket_id: str, body: CloseBody, user: Taker, queue: QueueDep, session: SessionDep,
          request: Request) -> TicketState:
    ticket = _ticket_for(session, ticket_id, user)
    if ticket.status == TicketStatus.callback:
        store: TicketStore = request.app.state.ticket_store
        detail = {"disposition": body.disposition, **({"note": body.note} if body.note else {})}
        closed = store.record(ticket_id, TicketStatus.closed, user_id=user.id, detail=detail,
                              disposition=body.disposition, closed_at=utc_now(), claimed_by=user.id)
    else:
        closed = queue.close(ticket_id, user.id, disposition=body.disposition, note=body.note or "")
    session.add(AuditLog(actor_user_id=user.id, actor=user.username, practice_id=ticket.practice_id, action="close",
                         entity="ticket", entity_id=ticket_id,
                         detail={"disposition": body.disposition, "note": body.note}))
    session.commit()
    return _state(closed)


@router.post("/presence", response_model=PresenceState, dependencies=[CsrfProtected],
             summary="Heartbeat of the secretary's page with her status (send every ~10 s)")
def presence(body: PresenceBody, user: Taker, queue: QueueDep) -> PresenceState:
    queue.heartbeat(user.id, body.status)
    return PresenceState(status=body.status, timeout_s=PRESENCE_TIMEOUT_S)


# --- helpers -------------------------------------------------------------------------------------------


def _ticket_for(session: Session, ticket_id: str, user: ConsoleUser) -> Ticket:
    """The ticket if this user serves its practice; otherwise it does not exist for her (404)."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or not user.serves(ticket.practice_id):
        raise TicketNotFound(f"ticket {ticket_id} not found")
    return ticket


def _tickets(session: Session, ids: list[str]) -> dict[str, Ticket]:
    if not ids:
        return {}
    rows = session.exec(select(Ticket).where(col(Ticket.id).in_(ids)))
    return {t.id: t for t in rows}


def _practice_names(session: Session, ids: tuple[int, ...]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.exec(select(Practice.id, Practice.name).where(col(Practice.id).in_(ids)))
    return {int(i): str(n) for i, n in rows if i is not None}


def _item(entry: QueueEntry, ticket: Ticket | None, names: dict[int, str], user: ConsoleUser) -> QueueItem:
    return QueueItem(
        id=entry.id, practice_id=entry.practice_id, practice_name=names.get(entry.practice_id or 0, ""),
        level=entry.level, status=entry.status, kind=ticket.kind if ticket else "handoff",
        reason=ticket.reason if ticket else "",
        caller_number=display_phone(ticket.caller_number) if ticket else "",
        created_at=entry.created_at, waited_s=round(entry.waited_s, 1), sla_breached=entry.sla_breached,
        requeued=entry.requeued, mine=entry.claimed_by == user.id,
    )


def _callbacks(session: Session, user: ConsoleUser, names: dict[int, str]) -> list[CallbackItem]:
    if not user.practice_ids:
        return []
    rows = session.exec(
        select(Ticket).where(Ticket.status == TicketStatus.callback, col(Ticket.practice_id).in_(user.practice_ids))
        .order_by(col(Ticket.callback_due).asc(), col(Ticket.created_at).asc()).limit(200)
    )
    return [CallbackItem(id=t.id, practice_id=t.practice_id, practice_name=names.get(t.practice_id or 0, ""),
                         level=t.level, reason=t.reason, caller_number=display_phone(t.caller_number),
                         created_at=t.created_at,
                         callback_due=t.callback_due) for t in rows]


def _summary(session: Session, ticket: Ticket) -> HandoffSummary:
    call = session.get(Call, ticket.id)
    turns = list(session.exec(select(Turn).where(Turn.call_id == ticket.id).order_by(col(Turn.seq))))
    patient = session.get(Patient, call.patient_id) if call and call.patient_id else None
    practice = session.get(Practice, ticket.practice_id) if ticket.practice_id else None
    practitioner = session.get(Practitioner, ticket.practitioner_id) if ticket.practitioner_id else None
    return build_summary(ticket=ticket, call=call, turns=turns, patient=patient, practice=practice,
                         practitioner=practitioner)


def _polisher(request: Request) -> SummaryPolisher | None:
    polisher: SummaryPolisher | None = getattr(request.app.state, "summary_polisher", None)
    return polisher


def _audit_view(session: Session, ticket: Ticket, user: ConsoleUser) -> None:
    """Log who viewed the call; a page re-reading the same ticket within the window is one view."""
    since = utc_now() - timedelta(seconds=VIEW_AUDIT_WINDOW_S)
    recent = session.exec(select(AuditLog.id).where(
        AuditLog.actor_user_id == user.id, AuditLog.entity == "ticket", AuditLog.entity_id == ticket.id,
        AuditLog.action == "view", col(AuditLog.at) >= since).limit(1)).first()
    if recent is None:
        session.add(AuditLog(actor_user_id=user.id, actor=user.username, practice_id=ticket.practice_id,
                             action="view", entity="ticket", entity_id=ticket.id))
        session.commit()


def _state(ticket: Ticket) -> TicketState:
    return TicketState(id=ticket.id, status=ticket.status, claimed_by=ticket.claimed_by,
                       disposition=ticket.disposition)
