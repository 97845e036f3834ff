"""A seeded generator of a group practice's call history (calls, turns, tickets, events, appointments).

Used by the report and replay tests and by the manager benchmarks: realistic daily and weekly curves
(morning peak, Monday rush, quiet Saturday afternoon and Sunday, winter epidemics, August holidays),
written with bulk inserts (one statement per few thousand rows). By default it creates its own practices,
practitioners and patients; a `Target` points it at an existing practice instead (the demo's history).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple, Protocol
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from practice.db import session_scope
from practice.models import Appointment, Call, Patient, Practice, Practitioner, Ticket, TicketEvent, Turn

BATCH = 4000
WEEKDAY_FACTOR = (1.35, 1.05, 0.95, 1.0, 1.05, 0.45, 0.08)  # Monday … Sunday
# Share of a weekday's calls by local hour (sums to 1): opening rush, lunch dip, after-school bump.
HOUR_SHARE = (0, 0, 0, 0, 0, 0, 0.002, 0.02, 0.14, 0.14, 0.11, 0.09, 0.05, 0.04, 0.1, 0.09, 0.075, 0.07,
              0.05, 0.025, 0.005, 0.003, 0, 0)
SATURDAY_HOURS = (0, 0, 0, 0, 0, 0, 0, 0.03, 0.25, 0.3, 0.22, 0.15, 0.05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
MONTH_FACTOR = (1.25, 1.2, 1.1, 1.0, 0.95, 0.95, 0.85, 0.65, 1.0, 1.05, 1.15, 1.25)

FIRST_NAMES = ("Jeanne", "Marc", "Léa", "Karim", "Sarah", "Michel", "Emma", "Paul", "Chloé", "Hugo", "Inès",
               "Louis", "Manon", "Yanis", "Camille", "Nathan", "Zoé", "Lucas", "Aïcha", "Julien")
LAST_NAMES = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
              "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier")
PRACTITIONER_NAMES = (("Claire", "Martin", "médecin généraliste"), ("Antoine", "Lefebvre", "médecin généraliste"),
                      ("Thomas", "Garnier", "médecin généraliste"), ("Sophie", "Nguyen", "pédiatre"),
                      ("Julien", "Moreau", "masseur-kinésithérapeute"), ("Nadia", "Benali", "infirmière"),
                      ("Élise", "Dubois", "sage-femme"), ("Marc", "Petit", "médecin généraliste"),
                      ("Inès", "Haddad", "médecin généraliste"), ("Paul", "Girard", "dermatologue"))
DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi")
MOMENTS = ("le matin", "l'après-midi", "en fin de journée", "vers dix heures", "plutôt tôt", "après dix-sept heures")


@dataclass(frozen=True)
class Scenario:
    """One kind of call: its share, what the caller says, and how it ends."""

    name: str
    weight: float
    caller: tuple[str, ...]
    outcome: str
    level: str = "routine"
    escalate: float = 0.0  # probability that a human takes over
    reason: str = ""
    books: bool = False


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("book", 34, ("Bonjour, je voudrais prendre rendez-vous avec le docteur {doctor}.",
                          "{day} {moment} si possible.", "C'est pour moi, {first} {last}."), "booked", books=True),
    Scenario("cancel", 8, ("Bonjour, je dois annuler mon rendez-vous de {day}.", "{first} {last}, merci."),
             "cancelled"),
    Scenario("reschedule", 7, ("Je voudrais déplacer mon rendez-vous de {day} à {day2}.", "{moment} ça m'irait."),
             "rescheduled"),
    Scenario("confirm", 4, ("Je voulais confirmer mon rendez-vous de {day} avec le docteur {doctor}.",), "confirmed"),
    Scenario("info", 11, ("Vous êtes ouverts {day} {moment} ?", "Et on peut se garer près du cabinet ?"), "informed"),
    Scenario("prescription", 7, ("C'est pour renouveler mon ordonnance de {drug}.", "Je suis {first} {last}."),
             "message", escalate=0.25, reason="Renouvellement d'ordonnance"),
    Scenario("message", 4, ("Pouvez-vous dire au docteur {doctor} que les résultats sont arrivés ?",), "message"),
    Scenario("human", 5, ("Je voudrais parler à une secrétaire s'il vous plaît.", "C'est personnel."), "escalated",
             escalate=0.97, reason="Demande à parler à une personne"),
    Scenario("clinical", 5, ("Est-ce que je peux prendre du {drug} avec mon traitement ?",), "escalated",
             escalate=0.9, reason="Question médicale"),
    Scenario("symptom", 6, ("Mon fils de {age} ans tousse depuis {days} jours, pas de fièvre.",
                            "Je voudrais qu'un médecin le voie {day}."), "booked", books=True),
    Scenario("fever", 4, ("Ma fille de {age} ans a {temp} de fièvre depuis {days} jours.", "Elle mange bien."),
             "escalated", level="urgent", escalate=0.95, reason="Fièvre élevée"),
    Scenario("urgent", 3, ("J'ai très mal au ventre depuis hier soir, ça ne passe pas.", "J'ai vomi deux fois."),
             "escalated", level="urgent", escalate=1.0, reason="Douleur abdominale"),
    Scenario("emergency", 1.2, ("Mon mari a une douleur qui serre dans la poitrine depuis {minutes} minutes.",
                                "Il transpire beaucoup."), "escalated", level="emergency", escalate=1.0,
             reason="Douleur thoracique"),
    Scenario("stroke", 0.3, ("Ma mère ne peut plus lever le bras et elle parle bizarrement.",), "escalated",
             level="emergency", escalate=1.0, reason="Signes d'AVC"),
    Scenario("silent", 2.5, (), "abandoned"),
)
DRUGS = ("Doliprane", "ibuprofène", "Levothyrox", "Kardegic", "ventoline", "metformine")


@dataclass(frozen=True)
class SyntheticSpec:
    """What to generate: a seeded history of `days` days from `start` (local dates)."""

    seed: int = 2026
    start: date = date(2025, 1, 6)
    days: int = 365
    calls_per_weekday: float = 170.0
    practices: int = 2
    practitioners: int = 10
    patients: int = 3000
    turns: bool = True
    agent_turns: bool = True
    timezone: str = "Europe/Paris"
    slug_prefix: str = "synth"
    transport: str = "media-stream"  # what the calls' `transport` column says (the demo marks its history)
    daily_seed: bool = False  # one random stream per day: a day's calls do not depend on the first day generated
    horizon: datetime | None = None  # callbacks due to be made after this instant are still pending


class Slot(NamedTuple):
    """Where a booking lands: local wall-clock start and end, and optionally its consultation type."""

    starts_at: datetime
    ends_at: datetime
    consultation_type_id: int | None = None
    reason: str = ""


class SlotPicker(Protocol):
    """Chooses a free slot of a practitioner for a booking made at `booked_at` (UTC); None when there is none."""

    def __call__(self, rng: random.Random, practitioner_id: int, booked_at: datetime, /) -> Slot | None: ...


@dataclass(frozen=True)
class Target:
    """An existing practice to fill, with its own practitioners and patients, instead of new synthetic ones."""

    practice_id: int
    practitioner_ids: tuple[int, ...]
    patient_ids: tuple[int, ...]
    doctor_names: tuple[str, ...]  # the names callers ask for ("le docteur …")
    slots: SlotPicker | None = None  # None: the generator's own naive grid (08:00 + 20 min steps)


@dataclass
class SyntheticSummary:
    """Ids and counts of what was written."""

    practice_ids: list[int]
    practitioner_ids: dict[int, list[int]]
    calls: int = 0
    turns: int = 0
    caller_turns: int = 0
    tickets: int = 0
    events: int = 0
    appointments: int = 0


@dataclass
class _Rows:
    calls: list[dict[str, Any]] = field(default_factory=list)
    turns: list[dict[str, Any]] = field(default_factory=list)
    tickets: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    appointments: list[dict[str, Any]] = field(default_factory=list)

    def size(self) -> int:
        return len(self.calls) + len(self.turns) + len(self.events) + len(self.appointments)


def generate(engine: Engine, spec: SyntheticSpec | None = None, *, target: Target | None = None) -> SyntheticSummary:
    """Write a seeded call history (and, without a target, its practices, practitioners and patients)."""
    spec = spec or SyntheticSpec()
    if target is None:
        summary = _directory(engine, spec)
        gen = _Generator(spec, summary, _patients(engine, spec))
    else:
        summary = SyntheticSummary([target.practice_id], {target.practice_id: list(target.practitioner_ids)})
        gen = _Generator(spec, summary, list(target.patient_ids), doctor_names=target.doctor_names,
                         slots=target.slots)
    rows = _Rows()
    for day in (spec.start + timedelta(days=i) for i in range(spec.days)):
        if spec.daily_seed:
            gen.rng = random.Random(f"{spec.seed}:{day.isoformat()}")
        gen.day(day, rows)
        if rows.size() >= BATCH * 4:
            _flush(engine, rows, summary)
    _flush(engine, rows, summary)
    _refresh_statistics(engine)
    return summary


def _refresh_statistics(engine: Engine) -> None:
    """Planner statistics after a bulk load (and PostgreSQL's visibility map, for index-only scans)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))


# --- the directory ---------------------------------------------------------------------------------------


def _directory(engine: Engine, spec: SyntheticSpec) -> SyntheticSummary:
    with session_scope(engine) as session:
        practices = [Practice(name=f"Cabinet synthétique {i + 1}", slug=f"{spec.slug_prefix}-{spec.seed}-{i + 1}",
                              timezone=spec.timezone) for i in range(spec.practices)]
        session.add_all(practices)
        session.flush()
        ids = [p.id for p in practices if p.id is not None]
        by_practice: dict[int, list[int]] = {i: [] for i in ids}
        for n in range(spec.practitioners):
            first, last, profession = PRACTITIONER_NAMES[n % len(PRACTITIONER_NAMES)]
            row = Practitioner(practice_id=ids[n % len(ids)], first_name=first, last_name=last, profession=profession)
            session.add(row)
            session.flush()
            assert row.id is not None
            by_practice[row.practice_id].append(row.id)
    return SyntheticSummary(ids, by_practice)


def _patients(engine: Engine, spec: SyntheticSpec) -> list[int]:
    rng = random.Random(f"{spec.seed}:patients")
    rows = [{"first_name": rng.choice(FIRST_NAMES), "last_name": rng.choice(LAST_NAMES),
             "phone": f"06{rng.randrange(10**8):08d}", "created_at": datetime(2024, 1, 1, tzinfo=UTC)}
            for _ in range(spec.patients)]
    table = Patient.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        first = conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()
        for chunk in _chunks(rows):
            conn.execute(table.insert(), chunk)
        ids = conn.execute(sa.select(table.c.id).where(table.c.id > first).order_by(table.c.id)).scalars()
        return [int(i) for i in ids]


# --- one day of calls ------------------------------------------------------------------------------------


DOCTOR_NAMES = tuple(last for _, last, _ in PRACTITIONER_NAMES)


class _Generator:
    def __init__(self, spec: SyntheticSpec, summary: SyntheticSummary, patients: list[int], *,
                 doctor_names: tuple[str, ...] = DOCTOR_NAMES, slots: SlotPicker | None = None) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.tz = ZoneInfo(spec.timezone)
        self.summary = summary
        self.patients = patients
        self.doctor_names = doctor_names or DOCTOR_NAMES
        self.slots: SlotPicker = slots or self._naive_slot
        self.weights = [s.weight for s in SCENARIOS]
        self.practice_weights = [len(summary.practitioner_ids[p]) for p in summary.practice_ids]
        self.taken: set[tuple[int, datetime]] = set()

    def day(self, day: date, rows: _Rows) -> None:
        weekday = day.weekday()
        hours = SATURDAY_HOURS if weekday >= 5 else HOUR_SHARE
        mean = self.spec.calls_per_weekday * WEEKDAY_FACTOR[weekday] * MONTH_FACTOR[day.month - 1]
        for hour, share in enumerate(hours):
            for _ in range(_poisson(self.rng, mean * share)):
                local = datetime.combine(day, time(hour), self.tz) + timedelta(seconds=self.rng.randrange(3600))
                self.call(local.astimezone(UTC), rows)

    def call(self, started: datetime, rows: _Rows) -> None:
        rng = self.rng
        scenario = rng.choices(SCENARIOS, self.weights)[0]
        practice_id = rng.choices(self.summary.practice_ids, self.practice_weights)[0]
        call_id = f"{rng.getrandbits(128):032x}"
        words = self._words()
        texts = [t.format(**words) for t in scenario.caller]
        escalated = rng.random() < scenario.escalate
        at = started + timedelta(seconds=4)
        for seq, text in enumerate(texts, 1):
            at += timedelta(seconds=rng.randint(5, 20))
            if self.spec.turns:
                rows.turns.append(_turn(call_id, 2 * seq, "caller", text, at))
            if self.spec.turns and self.spec.agent_turns:
                rows.turns.append(_turn(call_id, 2 * seq + 1, "agent", "Très bien, je regarde.", at))
        ended = at + timedelta(seconds=rng.randint(15, 90))
        disposition = ""
        if escalated:
            ended, disposition = self._ticket(call_id, practice_id, scenario, at, rows)
        number = f"06{rng.randrange(10**8):08d}"
        if escalated:
            rows.tickets[-1]["caller_number"] = number
        rows.calls.append({"id": call_id, "practice_id": practice_id, "caller_number": number,
                           "transport": self.spec.transport, "language": "fr", "started_at": started,
                           "ended_at": ended, "outcome": _outcome(scenario, escalated), "escalated": escalated,
                           "triage_level": scenario.level})
        if (scenario.books and not escalated) or disposition == "appointment_booked":
            self._appointment(practice_id, call_id, at, "human" if escalated else "agent", rows)
        elif rng.random() < 0.06:  # a booking made by a secretary at the desk, not from a call
            self._appointment(practice_id, None, started, "human", rows)

    def _words(self) -> dict[str, Any]:
        rng = self.rng
        day = rng.choice(DAYS)
        return {"doctor": rng.choice(self.doctor_names), "day": day, "day2": rng.choice(DAYS),
                "moment": rng.choice(MOMENTS), "first": rng.choice(FIRST_NAMES), "last": rng.choice(LAST_NAMES),
                "drug": rng.choice(DRUGS), "age": rng.randint(2, 12), "days": rng.randint(1, 6),
                "temp": f"{rng.choice((38, 39, 40))},{rng.randint(0, 9)}", "minutes": rng.choice((10, 20, 30, 45))}

    def _ticket(self, call_id: str, practice_id: int, scenario: Scenario, at: datetime,
                rows: _Rows) -> tuple[datetime, str]:
        """The hand-off: queued, then claimed and closed, or abandoned, or turned into a callback."""
        rng = self.rng
        queued = at + timedelta(seconds=2)
        events = [_event(call_id, "queued", queued)]
        ticket: dict[str, Any] = {"id": call_id, "practice_id": practice_id, "kind": "handoff", "level": scenario.level,
                                  "reason": scenario.reason, "created_at": queued, "skills": [], "summary": {},
                                  "preferred_user_ids": [], "caller_number": "", "disposition": "",
                                  "sla_breached": False}
        median = {"emergency": 15.0, "urgent": 45.0}.get(scenario.level, 100.0)
        wait = timedelta(seconds=round(median * math.exp(rng.gauss(0, 0.6)), 1))
        fate = rng.random()
        if fate < (0.02 if scenario.level == "emergency" else 0.08):
            ticket.update(status="abandoned", closed_at=queued + wait)
            events.append(_event(call_id, "abandoned", queued + wait))
        elif fate < 0.22 and scenario.level != "emergency":
            self._callback(ticket, events, queued, scenario.level)
        else:
            claimed = queued + wait
            closed = claimed + timedelta(seconds=rng.randint(60, 420))
            disposition = _disposition(rng, scenario)
            ticket.update(status="closed", claimed_at=claimed, closed_at=closed, disposition=disposition)
            events += [_event(call_id, "claimed", claimed), _event(call_id, "closed", closed)]
        rows.tickets.append(ticket)
        rows.events.extend(events)
        end: datetime = ticket.get("closed_at") or queued + wait
        return end, str(ticket["disposition"])

    def _callback(self, ticket: dict[str, Any], events: list[dict[str, Any]], queued: datetime, level: str) -> None:
        rng = self.rng
        moved = queued + timedelta(seconds=60)
        due = moved + timedelta(hours=2 if level == "urgent" else 24)
        ticket.update(kind="callback", status="callback", callback_due=due)
        events.append(_event(ticket["id"], "callback", moved))
        fate = rng.random()
        if fate < 0.95:
            late = fate >= 0.85
            span = (due - moved).total_seconds()
            done = due + timedelta(seconds=rng.randint(60, 7200)) if late else \
                moved + timedelta(seconds=rng.uniform(0.05, 0.95) * span)
        elif self.spec.horizon is not None:
            done = due + timedelta(days=rng.uniform(1, 3))  # forgotten, then made days late (never open for weeks)
        else:
            return  # never made: open for ever in a history without a horizon
        if self.spec.horizon is not None and done > self.spec.horizon:
            return  # not made yet: still pending at the horizon
        ticket.update(status="closed", closed_at=done, disposition="callback_done")
        events.append(_event(ticket["id"], "closed", done))

    def _appointment(self, practice_id: int, call_id: str | None, at: datetime, by: str, rows: _Rows) -> None:
        rng = self.rng
        practitioner = rng.choice(self.summary.practitioner_ids[practice_id])
        slot = self.slots(rng, practitioner, at)
        if slot is None or not self.patients:
            return
        rows.appointments.append({"practitioner_id": practitioner, "patient_id": rng.choice(self.patients),
                                  "practice_id": practice_id, "starts_at": slot.starts_at, "ends_at": slot.ends_at,
                                  "consultation_type_id": slot.consultation_type_id, "reason": slot.reason,
                                  "status": "booked", "booked_by": by, "call_id": call_id, "created_at": at,
                                  "updated_at": at})

    def _naive_slot(self, rng: random.Random, practitioner: int, booked_at: datetime) -> Slot:
        """1 to 21 days after the booking, on a 20-minute grid from 08:00, ignoring the practitioner's rules."""
        local_day = booked_at.astimezone(self.tz).date() + timedelta(days=rng.randint(1, 21))
        start = datetime.combine(local_day, time(8, 0)) + timedelta(minutes=20 * rng.randrange(30))
        while (practitioner, start) in self.taken:
            start += timedelta(minutes=20)
        self.taken.add((practitioner, start))
        return Slot(start, start + timedelta(minutes=20))


def _outcome(scenario: Scenario, escalated: bool) -> str:
    if escalated:
        return "escalated"
    return "message" if scenario.outcome == "escalated" else scenario.outcome


def _disposition(rng: random.Random, scenario: Scenario) -> str:
    if scenario.level == "emergency":
        return "advised_15" if rng.random() < 0.9 else "resolved"
    if scenario.level == "urgent":
        return rng.choices(("appointment_booked", "redirected_on_call", "resolved"), (5, 3, 2))[0]
    return rng.choices(("resolved", "message_forwarded", "appointment_booked"), (5, 3, 2))[0]


def _turn(call_id: str, seq: int, speaker: str, text: str, at: datetime) -> dict[str, Any]:
    return {"call_id": call_id, "seq": seq, "speaker": speaker, "text": text, "at": at, "triage": None}


def _event(ticket_id: str, status: str, at: datetime) -> dict[str, Any]:
    return {"ticket_id": ticket_id, "status": status, "at": at, "detail": {}}


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method for small means, a rounded normal for large ones."""
    if mean <= 0:
        return 0
    if mean > 40:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), BATCH):
        yield rows[i:i + BATCH]


def _flush(engine: Engine, rows: _Rows, summary: SyntheticSummary) -> None:
    """Insert in foreign-key order, a few thousand rows per statement, then empty the buffers."""
    tables: list[tuple[Any, list[dict[str, Any]]]] = [
        (Call.__table__, rows.calls), (Turn.__table__, rows.turns),  # type: ignore[attr-defined]
        (Ticket.__table__, rows.tickets), (TicketEvent.__table__, rows.events),  # type: ignore[attr-defined]
        (Appointment.__table__, rows.appointments),  # type: ignore[attr-defined]
    ]
    with engine.begin() as conn:
        for table, batch in tables:
            for chunk in _chunks(_complete(table, batch)):
                conn.execute(table.insert(), chunk)
    summary.calls += len(rows.calls)
    summary.turns += len(rows.turns)
    summary.caller_turns += sum(1 for t in rows.turns if t["speaker"] == "caller")
    summary.tickets += len(rows.tickets)
    summary.events += len(rows.events)
    summary.appointments += len(rows.appointments)
    for batch in (rows.calls, rows.turns, rows.tickets, rows.events, rows.appointments):
        batch.clear()


def _complete(table: Any, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every row with the same keys (executemany needs them), optional columns as NULL."""
    if not batch:
        return batch
    keys = {k for row in batch for k in row}
    return [{k: row.get(k) for k in keys} for row in batch]
