"""The manager's reports on SQLite and PostgreSQL, against a hand-made week with known answers; CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from redis import Redis
from sqlalchemy.engine import Engine
from sqlmodel import Session

from console.manager.common import period
from console.manager.reports import build_reports
from console.manager.reports_sql import Scope
from practice.models import Appointment, Call, Patient, Practitioner, Ticket, TicketEvent
from practice.synthetic import SyntheticSpec, generate
from tests.console_fixtures import ConsoleWorld, make_console
from tests.manager_fixtures import client_as, utc
from tests.queue_fixtures import drop_prefix, shared_redis  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration

PARIS = ZoneInfo("Europe/Paris")
WEEK = {"date_from": "2025-03-03", "date_to": "2025-03-09"}  # Monday to Sunday, UTC+1 all week


@pytest.fixture
def world(engine: Engine, shared_redis: Redis) -> Iterator[ConsoleWorld]:  # noqa: F811
    w = make_console(engine, shared_redis, secretaries=1)
    yield w
    drop_prefix(shared_redis, w.keys)


def _call(session: Session, cid: str, practice: int, at: datetime, outcome: str, escalated: bool = True) -> None:
    session.add(Call(id=cid * 8, practice_id=practice, started_at=at, ended_at=at + timedelta(minutes=3),
                     outcome=outcome, escalated=escalated))


def _ticket(session: Session, cid: str, practice: int, level: str, reason: str, events: list[tuple[str, datetime]],
            **fields: Any) -> None:
    session.add(Ticket(id=cid * 8, practice_id=practice, level=level, reason=reason, created_at=events[0][1],
                       status=events[-1][0], **fields))
    session.flush()
    session.add_all(TicketEvent(ticket_id=cid * 8, status=s, at=at) for s, at in events)


def seed_week(engine: Engine, p0: int, p1: int) -> None:
    """Ten calls of practice 0 in the week (local time), one of practice 1, two outside the week."""
    at = utc
    with Session(engine) as session:
        for cid, practice, when, outcome, escalated in [
            ("c001", p0, at(2025, 3, 3, 8, 15), "booked", False),       # Mon 09:15 local
            ("c002", p0, at(2025, 3, 3, 8, 40), "escalated", True),     # Mon 09:40
            ("c003", p0, at(2025, 3, 4, 13, 5), "escalated", True),     # Tue 14:05
            ("c004", p0, at(2025, 3, 4, 13, 30), "escalated", True),    # Tue 14:30
            ("c005", p0, at(2025, 3, 5, 17, 10), "escalated", True),    # Wed 18:10
            ("c006", p0, at(2025, 3, 6, 8, 0), "escalated", True),      # Thu 09:00
            ("c007", p0, at(2025, 3, 6, 8, 20), "escalated", True),     # Thu 09:20
            ("c008", p0, at(2025, 3, 7, 9, 0), "abandoned", False),     # Fri 10:00, hung up before speaking
            ("c009", p0, at(2025, 3, 8, 9, 0), "escalated", True),      # Sat 10:00
            ("c010", p0, at(2025, 3, 9, 22, 59), "escalated", True),    # Sun 23:59 local: inside
            ("c011", p0, at(2025, 3, 9, 23, 30), "booked", False),      # Mon 10 March 00:30 local: outside
            ("c012", p0, at(2025, 3, 2, 22, 30), "booked", False),      # Sun 2 March 23:30 local: outside
            ("c013", p1, at(2025, 3, 3, 9, 0), "booked", False),        # practice 1, Mon 10:00
        ]:
            _call(session, cid, practice, when, outcome, escalated)
        session.flush()
        _ticket(session, "c002", p0, "emergency", "Douleur thoracique",
                [("queued", at(2025, 3, 3, 8, 41)), ("claimed", at(2025, 3, 3, 8, 41) + timedelta(seconds=20)),
                 ("closed", at(2025, 3, 3, 8, 45))], disposition="advised_15")
        _ticket(session, "c003", p0, "urgent", "Fièvre élevée",
                [("queued", at(2025, 3, 4, 13, 6)), ("claimed", at(2025, 3, 4, 13, 7)),
                 ("closed", at(2025, 3, 4, 13, 9))])
        _ticket(session, "c004", p0, "urgent", "Fièvre élevée",
                [("queued", at(2025, 3, 4, 13, 31)), ("abandoned", at(2025, 3, 4, 13, 33))])
        _ticket(session, "c005", p0, "routine", "Question médicale",
                [("queued", at(2025, 3, 5, 17, 11)), ("callback", at(2025, 3, 5, 17, 12)),
                 ("closed", at(2025, 3, 5, 18, 0))], callback_due=at(2025, 3, 5, 19, 12), closed_at=at(2025, 3, 5, 18))
        _ticket(session, "c006", p0, "routine", "Question médicale",
                [("queued", at(2025, 3, 6, 8, 1)), ("callback", at(2025, 3, 6, 8, 2)), ("closed", at(2025, 3, 6, 11))],
                callback_due=at(2025, 3, 6, 10), closed_at=at(2025, 3, 6, 11))
        _ticket(session, "c007", p0, "routine", "Demande à parler à une personne",
                [("queued", at(2025, 3, 6, 8, 21)), ("claimed", at(2025, 3, 6, 8, 23)),
                 ("closed", at(2025, 3, 6, 8, 30))])
        _ticket(session, "c009", p0, "routine", "Demande à parler à une personne",  # claimed, released, re-claimed
                [("queued", at(2025, 3, 8, 9, 1)), ("claimed", at(2025, 3, 8, 9, 1) + timedelta(seconds=30)),
                 ("queued", at(2025, 3, 8, 9, 2)), ("claimed", at(2025, 3, 8, 9, 3)), ("closed", at(2025, 3, 8, 9, 9))])
        _ticket(session, "c010", p0, "routine", "Message",
                [("queued", at(2025, 3, 9, 22, 59) + timedelta(seconds=30)), ("callback", at(2025, 3, 9, 23, 1))],
                callback_due=at(2025, 3, 10, 8))
        _appointments(session, p0, p1)
        session.commit()


def _appointments(session: Session, p0: int, p1: int) -> None:
    claire = Practitioner(practice_id=p0, first_name="Claire", last_name="Martin", profession="médecin")
    paul = Practitioner(practice_id=p0, first_name="Paul", last_name="Petit", profession="médecin")
    other = Practitioner(practice_id=p1, first_name="Inès", last_name="Haddad", profession="médecin")
    patient = Patient(first_name="Jeanne", last_name="Rousseau")
    session.add_all([claire, paul, other, patient])
    session.flush()
    assert claire.id and paul.id and other.id and patient.id
    slot = datetime(2025, 3, 20, 9, 0)
    for i, (who, practice, by, created, status) in enumerate([
        (claire.id, p0, "agent", utc(2025, 3, 3, 8, 16), "booked"),
        (claire.id, p0, "human", utc(2025, 3, 4, 10), "confirmed"),
        (paul.id, p0, "agent", utc(2025, 3, 5, 10), "cancelled"),
        (paul.id, p0, "agent", utc(2025, 3, 2, 10), "booked"),     # booked before the week
        (other.id, p1, "agent", utc(2025, 3, 4, 10), "booked"),    # another practice
    ]):
        start = slot + timedelta(minutes=20 * i)
        session.add(Appointment(practitioner_id=who, practice_id=practice, patient_id=patient.id, starts_at=start,
                                ends_at=start + timedelta(minutes=20), booked_by=by, status=status,
                                created_at=created))


def _get(client: Any, url: str, **params: Any) -> Any:
    answer = client.get(url, params=params)
    assert answer.status_code == 200, answer.text
    return answer


def test_every_report_matches_the_hand_made_week(world: ConsoleWorld):
    p0, p1 = world.practice_ids
    seed_week(world.engine, p0, p1)
    with client_as(world, "manager") as manager:
        data = _get(manager, "/api/manager/reports", practice_id=p0, **WEEK).json()
    assert data["from"] == "2025-03-03" and data["to"] == "2025-03-09"
    heat = data["heatmap"]
    cells = {(d, h): heat[d][h] for d in range(7) for h in range(24) if heat[d][h]}
    assert cells == {(0, 9): 2, (1, 14): 2, (2, 18): 1, (3, 9): 2, (4, 10): 1, (5, 10): 1, (6, 23): 1}
    assert [d["calls"] for d in data["daily"]] == [2, 2, 1, 2, 1, 1, 1]
    assert data["total_calls"] == 10 and data["contained"] == 2 and data["containment"] == 0.2
    tables = data["tables"]
    assert sorted(map(tuple, tables["outcomes"]["rows"])) == sorted([
        ("Passé à une secrétaire", "oui", 8, 0.8), ("Rendez-vous pris", "non", 1, 0.1),
        ("Raccroché avant de parler", "non", 1, 0.1)])
    assert [tuple(r[:3]) for r in tables["escalations"]["rows"]] == [
        ("Urgence vitale", "Douleur thoracique", 1), ("Urgent", "Fièvre élevée", 2),
        ("Courant", "Demande à parler à une personne", 2), ("Courant", "Question médicale", 2),
        ("Courant", "Message", 1)]
    # Waits: emergency [20 s], urgent [60 s] (the abandoned one never picked up), routine [30 s, 120 s].
    assert tables["waits"]["rows"] == [["Urgence vitale", 1, 20.0, 20.0, 20.0], ["Urgent", 1, 60.0, 60.0, 60.0],
                                       ["Courant", 2, 75.0, 75.0, 115.5], ["Tous niveaux", 4, 57.5, 45.0, 111.0]]
    assert tables["abandoned"]["rows"] == [
        ["En attente d'une secrétaire — Urgence vitale", 0, 1, 0.0],
        ["En attente d'une secrétaire — Urgent", 1, 2, 0.5],
        ["En attente d'une secrétaire — Courant", 0, 5, 0.0],
        ["Avant d'avoir parlé à l'agent", 1, 10, 0.1]]
    # Callbacks: one on time, one late, one not made and past due.
    assert tables["callbacks"]["rows"] == [["Courant", 3, 1, 1, 1, 0, 0.3333]]
    assert tables["appointments"]["rows"] == [["Dr Claire Martin", 1, 1, 2, 0.5, 0], ["Dr Paul Petit", 1, 0, 1, 1.0, 1],
                                              ["Total", 2, 1, 3, 0.6667, 1]]


def test_practice_filter_and_the_whole_group(world: ConsoleWorld):
    p0, p1 = world.practice_ids
    seed_week(world.engine, p0, p1)
    with client_as(world, "admin") as admin:
        group = _get(admin, "/api/manager/reports", **WEEK).json()
        other = _get(admin, "/api/manager/reports", practice_id=p1, **WEEK).json()
        unknown = admin.get("/api/manager/reports", params={"practice_id": 999999, **WEEK})
    assert group["total_calls"] == 11 and group["heatmap"][0][10] == 1
    assert other["total_calls"] == 1 and other["contained"] == 1
    assert [r[0] for r in other["tables"]["appointments"]["rows"]] == ["Dr Inès Haddad", "Total"]
    assert unknown.status_code == 404


def test_pending_callbacks_depend_on_now(world: ConsoleWorld):
    p0, p1 = world.practice_ids
    seed_week(world.engine, p0, p1)
    scope = Scope((p0,), period(date(2025, 3, 3), date(2025, 3, 9), PARIS))
    early = build_reports(world.engine, scope, now=utc(2025, 3, 10, 7))
    assert early.tables["callbacks"].rows == [["Courant", 3, 1, 1, 0, 1, 0.5]]


def test_csv_export_of_each_table(world: ConsoleWorld):
    p0, p1 = world.practice_ids
    seed_week(world.engine, p0, p1)
    with client_as(world, "manager") as manager:
        waits = _get(manager, "/api/manager/reports/waits.csv", practice_id=p0, **WEEK)
        names = ["volume", "daily", "outcomes", "escalations", "abandoned", "callbacks", "appointments"]
        others = {name: _get(manager, f"/api/manager/reports/{name}.csv", practice_id=p0, **WEEK) for name in names}
        assert manager.get("/api/manager/reports/secrets.csv").status_code == 404
    assert waits.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="permanence-waits-2025-03-03-2025-03-09.csv"' in waits.headers["content-disposition"]
    assert waits.text.startswith("\ufeff")
    assert waits.text.lstrip("\ufeff").splitlines() == [
        "Niveau;Tickets pris;Moyenne;p50;p95", "Urgence vitale;1;20;20;20", "Urgent;1;60;60;60",
        "Courant;2;75;75;115,5", "Tous niveaux;4;57,5;45;111"]
    volume = list(csv.reader(io.StringIO(others["volume"].text.lstrip("\ufeff")), delimiter=";"))
    assert volume[0][:3] == ["Jour", "0h", "1h"] and volume[1][0] == "Lundi" and volume[1][10] == "2"
    assert volume[1][-1] == "2" and volume[7][-1] == "1"
    daily = others["daily"].text.lstrip("\ufeff").splitlines()
    assert daily[0] == "Jour;Appels" and daily[1] == "2025-03-03;2" and len(daily) == 8
    assert "Dr Claire Martin;1;1;2;0,5;0" in others["appointments"].text
    assert "Courant;3;1;1;1;0;0,3333" in others["callbacks"].text


def test_reports_page_shows_charts_and_tables(world: ConsoleWorld):
    p0, p1 = world.practice_ids
    seed_week(world.engine, p0, p1)
    with client_as(world, "manager") as manager:
        page = _get(manager, "/manager/reports", practice_id=p0, **WEEK).text
    assert '<svg xmlns="http://www.w3.org/2000/svg" id="chart-heatmap"' in page
    assert 'data-day="0" data-hour="9" data-value="2"' in page
    assert "<title>Lundi 9 h – 10 h : 2 appel(s)</title>" in page
    for chart in ("chart-daily", "chart-levels", "chart-reasons", "chart-waits", "chart-appointments"):
        assert f'id="{chart}"' in page
    assert 'id="kpi-containment">20,0 %' in page
    assert f"/api/manager/reports/waits.csv?practice_id={p0}&amp;date_from=2025-03-03" in page
    assert "style=" not in page  # the strict CSP forbids inline styles


def test_an_empty_period_renders(world: ConsoleWorld):
    with client_as(world, "manager") as manager:
        page = _get(manager, "/manager/reports", date_from="2020-01-01", date_to="2020-01-31")
        data = _get(manager, "/api/manager/reports", date_from="2020-01-01", date_to="2020-01-31").json()
    assert "Aucune donnée sur la période." in page.text
    assert data["total_calls"] == 0 and data["containment"] is None and data["tables"]["waits"]["rows"] == []


def test_synthetic_history_is_seeded_and_consistent(world: ConsoleWorld):
    spec = SyntheticSpec(seed=11, start=date(2025, 6, 2), days=14, calls_per_weekday=40, patients=50,
                         slug_prefix=f"t{world.tag}")
    summary = generate(world.engine, spec)
    assert summary.calls > 300 and summary.tickets > 20 and summary.appointments > 50
    assert sum(len(v) for v in summary.practitioner_ids.values()) == 10
    scope = Scope(tuple(summary.practice_ids), period(date(2025, 6, 2), date(2025, 6, 15), PARIS))
    reports = build_reports(world.engine, scope)
    assert reports.total_calls == summary.calls
    assert sum(map(sum, reports.heatmap)) == summary.calls
    assert sum(r[2] for r in reports.tables["escalations"].rows) == summary.tickets
    assert reports.tables["appointments"].rows[-1][3] == summary.appointments
    monday, sunday = sum(reports.heatmap[0]), sum(reports.heatmap[6])
    assert monday > 5 * max(1, sunday)  # the weekly curve: Monday rush, quiet Sunday
    assert reports.heatmap[0][9] > reports.heatmap[0][13]  # morning peak over the lunch dip
