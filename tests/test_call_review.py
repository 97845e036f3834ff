"""Call review on SQLite and PostgreSQL: the level a manager retains for a call (form, API, roles, tenancy, audit,
languages), the what-if replay against hand-computed figures with reviews, and GDPR erasure, export and purge."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from console.auth import ConsoleUser
from console.manager.common import call_in_scope, period
from console.manager.whatif import Assessor, whatif
from escalation.thresholds import Thresholds
from practice import gdpr
from practice.models import AuditLog, Call, CallReview, Patient, Role, Turn
from practice.retention import purge
from tests.console_fixtures import ConsoleWorld, make_console
from tests.i18n_checks import french_leftovers
from tests.manager_fixtures import RecordedCall, client_as, record_calls, utc
from tests.queue_fixtures import drop_prefix, shared_redis  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration

CHEST = "j'ai une douleur qui serre dans la poitrine depuis vingt minutes"
FEVER = "ma fille de 6 ans a 39,5 de fièvre"
CLINICAL = "est-ce que je peux prendre du doliprane avec mon traitement ?"
BOOKING = "je voudrais un rendez-vous mardi"
PERIOD = {"date_from": "2030-03-01", "date_to": "2030-03-31"}
SECTION = re.compile(r'<section class="card" id="relecture".*?</section>', re.DOTALL)


@pytest.fixture
def world(engine: Engine, shared_redis: Redis) -> Iterator[ConsoleWorld]:  # noqa: F811
    w = make_console(engine, shared_redis, secretaries=1)
    w.app.state.whatif_assessor = Assessor(workers=1)
    yield w
    drop_prefix(shared_redis, w.keys)


def _one_call(world: ConsoleWorld, call_id: str = "a" * 32, practice: int = 0, level: str = "urgent") -> str:
    record_calls(world.engine, [RecordedCall(call_id, world.practice_ids[practice], utc(2030, 3, 4, 9), (FEVER,),
                                             "redirected_on_call", level)])
    return call_id


def _form(client: TestClient, call_id: str, level: str | None, *, csrf: bool = True) -> Any:
    """The page's form as a browser sends it: the token in the form field, not in a header."""
    token = client.headers.pop("X-CSRF-Token", "")
    data = {"csrf_token": token} if csrf else {}
    if level is not None:
        data["level"] = level
    answer = client.post(f"/manager/calls/{call_id}/review", data=data)
    client.headers["X-CSRF-Token"] = token
    return answer


def _reviews(world: ConsoleWorld) -> list[tuple[str, str, int | None]]:
    with Session(world.engine) as session:
        rows = session.exec(select(CallReview).order_by(col(CallReview.call_id)))
        return [(r.call_id, r.level, r.reviewed_by) for r in rows]


def _review_audit(world: ConsoleWorld) -> list[AuditLog]:
    with Session(world.engine) as session:
        return list(session.exec(select(AuditLog).where(AuditLog.action == "review").order_by(col(AuditLog.id))))


# --- storing, replacing, auditing ----------------------------------------------------------------------------


def test_a_review_from_the_page_is_stored_replaced_and_audited(world: ConsoleWorld):
    call_id = _one_call(world)
    with client_as(world, "manager") as manager:
        first = _form(manager, call_id, "emergency")
        assert first.status_code == 303
        assert first.headers["location"] == f"/manager/calls/{call_id}?review=saved#relecture"
        assert _reviews(world) == [(call_id, "emergency", world.users["manager"])]
        again = _form(manager, call_id, "routine")
        assert again.status_code == 303
    with client_as(world, "admin") as admin:
        assert _form(admin, call_id, "urgent").status_code == 303
    assert _reviews(world) == [(call_id, "urgent", world.users["admin"])]  # one per call: the last one wins
    with Session(world.engine) as session:
        review = session.get(CallReview, call_id)
        assert review is not None and review.reviewer == world.username("admin")
        assert review.reviewed_at.tzinfo is not None
    trail = [(a.actor, a.entity, a.entity_id, a.practice_id, a.detail) for a in _review_audit(world)]
    p0 = world.practice_ids[0]
    assert trail == [
        (world.username("manager"), "call", call_id, p0, {"level": "emergency", "previous": None,
                                                          "triage_level": "urgent"}),
        (world.username("manager"), "call", call_id, p0, {"level": "routine", "previous": "emergency",
                                                          "triage_level": "urgent"}),
        (world.username("admin"), "call", call_id, p0, {"level": "urgent", "previous": "routine",
                                                        "triage_level": "urgent"}),
    ]


def test_the_json_api_reads_and_replaces_the_review(world: ConsoleWorld):
    call_id = _one_call(world)
    with client_as(world, "manager") as manager:
        before = manager.get(f"/api/manager/calls/{call_id}/review")
        assert before.status_code == 200
        assert before.json() == {"call_id": call_id, "practice_id": world.practice_ids[0], "triage_level": "urgent",
                                 "review": None}
        put = manager.put(f"/api/manager/calls/{call_id}/review", json={"level": "routine"})
        assert put.status_code == 200, put.text
        review = put.json()["review"]
        assert review["level"] == "routine" and review["reviewer"] == world.username("manager")
        assert review["reviewed_by"] == world.users["manager"]
        manager.put(f"/api/manager/calls/{call_id}/review", json={"level": "emergency"})
        assert manager.get(f"/api/manager/calls/{call_id}/review").json()["review"]["level"] == "emergency"
    assert _reviews(world) == [(call_id, "emergency", world.users["manager"])]
    assert [a.detail["previous"] for a in _review_audit(world)] == [None, "routine"]


# --- refusals ------------------------------------------------------------------------------------------------


def test_a_secretary_is_refused_and_an_anonymous_visitor_sent_to_the_login(world: ConsoleWorld):
    call_id = _one_call(world)  # a call of the secretary's own practice
    with client_as(world, "sec0") as secretary:
        assert _form(secretary, call_id, "routine").status_code == 403
        assert secretary.put(f"/api/manager/calls/{call_id}/review", json={"level": "routine"}).status_code == 403
        assert secretary.get(f"/api/manager/calls/{call_id}/review").status_code == 403
    with client_as(world, None) as anonymous:
        token = re.search(r'name="csrf_token" value="([^"]+)"', anonymous.get("/login").text)
        assert token is not None
        answer = anonymous.post(f"/manager/calls/{call_id}/review",
                                data={"csrf_token": token.group(1), "level": "routine"})
        assert answer.status_code == 303 and answer.headers["location"] == f"/login?next=/manager/calls/{call_id}"
        assert anonymous.put(f"/api/manager/calls/{call_id}/review", json={"level": "routine"},
                             headers={"X-CSRF-Token": token.group(1)}).status_code == 401
    assert _reviews(world) == [] and _review_audit(world) == []


def test_a_change_needs_the_csrf_token(world: ConsoleWorld):
    call_id = _one_call(world)
    with client_as(world, "manager") as manager:
        no_field = _form(manager, call_id, "routine", csrf=False)
        assert no_field.status_code == 403 and "CSRF" in no_field.text
        del manager.headers["X-CSRF-Token"]
        no_header = manager.put(f"/api/manager/calls/{call_id}/review", json={"level": "routine"})
        assert no_header.status_code == 403 and "CSRF" in no_header.json()["detail"]
    assert _reviews(world) == []


def test_unknown_calls_and_levels_are_refused_clearly(world: ConsoleWorld):
    call_id = _one_call(world)
    unknown = "0" * 32
    with client_as(world, "manager") as manager:
        assert _form(manager, unknown, "routine").status_code == 404
        missing = manager.put(f"/api/manager/calls/{unknown}/review", json={"level": "routine"})
        assert missing.status_code == 404 and missing.json()["detail"] == "Appel introuvable."
        assert manager.get(f"/api/manager/calls/{unknown}/review").status_code == 404
        for level in ("critique", "", None):
            bad = _form(manager, call_id, level)
            assert bad.status_code == 422, level
            assert "Niveau inconnu : choisissez urgence vitale, urgent ou courant." in bad.text
            assert f'href="/manager/calls/{call_id}#relecture"' in bad.text
        refused = manager.put(f"/api/manager/calls/{call_id}/review", json={"level": "EMERGENCY"})
        assert refused.status_code == 422
        assert refused.json()["detail"]["errors"] == [{"field": "level", "message": "Niveau inconnu : choisissez "
                                                       "urgence vitale, urgent ou courant."}]
        manager.cookies.set("permanence_lang", "en")
        english = manager.put(f"/api/manager/calls/{call_id}/review", json={"level": "grave"})
        assert english.json()["detail"]["message"] == "Unknown level: choose emergency, urgent or routine."
        english_page = _form(manager, call_id, "grave")
        assert english_page.status_code == 422 and "Review refused" in english_page.text
    assert _reviews(world) == [] and _review_audit(world) == []


def test_a_call_outside_the_users_practices_is_unknown_to_her(world: ConsoleWorld):
    """Managers and admins see every practice of the group; the scope check is the user's practice list."""
    p0, p1 = world.practice_ids
    _one_call(world, "a" * 32, practice=0)
    _one_call(world, "b" * 32, practice=1)
    with Session(world.engine) as session:
        session.add(Call(id="c" * 32, practice_id=None, started_at=utc(2030, 3, 4, 9)))  # a call with no practice
        session.commit()
        scoped = ConsoleUser(id=world.users["manager"], username="m", full_name="M", role=Role.manager, skills=(),
                             practice_ids=(p1,))
        assert call_in_scope(session, scoped, "a" * 32) is None
        assert call_in_scope(session, scoped, "b" * 32) is not None
    with client_as(world, "manager") as manager:
        assert manager.put(f"/api/manager/calls/{'c' * 32}/review", json={"level": "routine"}).status_code == 404
        assert _form(manager, "c" * 32, "routine").status_code == 404
    assert _reviews(world) == []
    assert p0 != p1


# --- the call page -------------------------------------------------------------------------------------------


def test_the_call_page_shows_the_form_and_the_current_review_in_french(world: ConsoleWorld):
    call_id = _one_call(world)
    with client_as(world, "manager") as manager:
        page = manager.get(f"/manager/calls/{call_id}")
        assert page.status_code == 200
        section = SECTION.search(page.text)
        assert section is not None, page.text
        html = section.group(0)
        assert "Relecture" in html and "Pas encore relu." in html and "Niveau du triage" in html
        assert f'action="/manager/calls/{call_id}/review"' in html
        token = manager.headers["X-CSRF-Token"]
        assert f'name="csrf_token" value="{token}"' in html
        assert html.count('type="radio" name="level"') == 3 and "checked" not in html
        assert '<span class="badge level-urgent">Urgent</span>' in html  # the triage level, for comparison
        saved = _form(manager, call_id, "routine")
        shown = manager.get(saved.headers["location"]).text
    html = SECTION.search(shown).group(0)  # type: ignore[union-attr]
    assert "Relecture enregistrée." in html and "Pas encore relu." not in html
    assert '<span class="badge level-routine" id="review-level">Courant</span>' in html
    assert f"par {world.username('manager')}, le " in html
    shown_at = re.search(r"le (\d\d/\d\d/\d{4}) à (\d\d:\d\d)", html)
    assert shown_at, html
    local = datetime.strptime(" ".join(shown_at.groups()), "%d/%m/%Y %H:%M").replace(tzinfo=ZoneInfo("Europe/Paris"))
    assert abs(datetime.now(UTC) - local) < timedelta(minutes=3), "the practice's local time, not UTC"
    assert re.search(r'value="routine" required checked', html)


def test_the_call_page_review_in_english(world: ConsoleWorld):
    call_id = _one_call(world)
    with client_as(world, "manager") as manager:
        manager.cookies.set("permanence_lang", "en")
        empty = SECTION.search(manager.get(f"/manager/calls/{call_id}").text).group(0)  # type: ignore[union-attr]
        assert "Review" in empty and "Not reviewed yet." in empty and "Triage level" in empty
        assert french_leftovers(empty) == []
        _form(manager, call_id, "emergency")
        html = SECTION.search(manager.get(f"/manager/calls/{call_id}?review=saved").text).group(0)  # type: ignore
    assert "Review saved." in html and ">Emergency</span>" in html
    assert f"by {world.username('manager')} on " in html
    assert french_leftovers(html, allowed=(world.username("manager"),)) == []


# --- the what-if replay ----------------------------------------------------------------------------------------


def _seed_replay(world: ConsoleWorld) -> None:
    p0, p1 = world.practice_ids
    record_calls(world.engine, [
        RecordedCall("a" * 32, p0, utc(2030, 3, 4, 9), (CHEST, "d'accord merci"), "advised_15", "emergency"),
        RecordedCall("b" * 32, p0, utc(2030, 3, 5, 10), (FEVER,), "redirected_on_call", "urgent"),
        RecordedCall("c" * 32, p0, utc(2030, 3, 6, 11), (BOOKING,)),
        RecordedCall("d" * 32, p0, utc(2030, 3, 7, 12), (CLINICAL,)),
        RecordedCall("e" * 32, p0, utc(2030, 3, 8, 9), (CHEST,), level="emergency"),
        RecordedCall("f" * 32, p0, utc(2030, 3, 9, 9), (FEVER,), level="urgent"),
        RecordedCall("h" * 32, p0, utc(2030, 3, 10, 9), ("bonjour",), "redirected_on_call"),
        RecordedCall("g" * 32, p1, utc(2030, 3, 8, 9), (FEVER,)),  # another practice: not replayed
    ])


REVIEWS = [("b", "urgent"), ("b", "routine"), ("c", "routine"), ("d", "urgent"), ("e", "urgent"),
           ("h", "emergency"), ("g", "routine")]


def _replay(client: TestClient, practice_id: int) -> dict[str, Any]:
    answer = client.post("/api/manager/thresholds/replay", json={
        "practice_id": practice_id, "values": {"high_fever_celsius": 40.0}, "include_eval": False, **PERIOD})
    assert answer.status_code == 200, answer.text
    recorded: dict[str, Any] = answer.json()["recorded"]
    return recorded


def test_the_replay_measures_over_triage_against_reviewed_levels(world: ConsoleWorld):
    """Seven calls (eight caller turns) in practice 0. Reference labels: A (advised_15, not reviewed) emergency; B
    (redirected_on_call, reviewed urgent then routine) routine; C routine; D urgent; E urgent; H (redirected_on_call
    but reviewed emergency) emergency; F unlabelled. Active: chest → emergency/advise_15, fever → urgent/handoff,
    clinical question → routine/callback, the rest routine/self_service. Draft (fever at 40 °C): fever → routine."""
    _seed_replay(world)
    p0 = world.practice_ids[0]
    with client_as(world, "manager") as manager:
        unreviewed = _replay(manager, p0)
        for short, level in REVIEWS:
            answer = manager.put(f"/api/manager/calls/{short * 32}/review", json={"level": level})
            assert answer.status_code == 200, answer.text
        recorded = _replay(manager, p0)
    # Before any review only the dispositions label calls (A emergency, B and H urgent): no over-triage at all.
    assert unreviewed["active"]["labelled"] == 3 and unreviewed["active"]["over_triage_rate"] == 0.0
    active, draft = recorded["active"], recorded["draft"]
    assert recorded["calls"] == 7 and active["total"] == 7 and active["labelled"] == 6
    # Active, per call: A caught, H (reviewed emergency) left routine; B (urgent for a routine call) and E
    # (emergency for an urgent one) over-triaged; D (urgent) under-triaged; right: A and C.
    assert active["escalation_rate"] == round(5 / 7, 4)  # A, B, D, E, F
    assert (active["emergencies"], active["emergencies_caught"], active["emergencies_as_routine"]) == (2, 1, 1)
    assert active["accuracy"] == round(2 / 6, 4) and active["over_triage_rate"] == round(2 / 6, 4)
    # Draft: B becomes routine (now right, no longer over-triaged), F too (unlabelled).
    assert draft["escalation_rate"] == round(3 / 7, 4)  # A, D, E
    assert (draft["emergencies"], draft["emergencies_caught"], draft["emergencies_as_routine"]) == (2, 1, 1)
    assert draft["accuracy"] == round(3 / 6, 4) and draft["over_triage_rate"] == round(1 / 6, 4)
    assert recorded["changed_total"] == 2 and recorded["changed_calls"] == 2
    assert [(c["call_id"], c["label"]) for c in recorded["changed"]] == [("b" * 32, "routine"), ("f" * 32, None)]


def test_changed_items_say_whether_their_label_comes_from_a_review(world: ConsoleWorld):
    _seed_replay(world)
    with Session(world.engine) as session:
        session.add(CallReview(call_id="b" * 32, level="routine"))
        session.commit()
    practice = world.practice_ids[0]
    span = period(utc(2030, 3, 1).date(), utc(2030, 3, 31).date(), world.app.state.settings.tz)
    result = whatif(world.engine, practice_ids=[practice], span=span, active=Thresholds(),
                    draft=Thresholds(high_fever_celsius=40.0), assessor=Assessor(workers=1), eval_path=None)
    changed = {c["call_id"]: (c["label"], c["reviewed"]) for c in result["recorded"]["changed"]}
    assert changed == {"b" * 32: ("routine", True), "f" * 32: (None, False)}


# --- GDPR ------------------------------------------------------------------------------------------------------


def _patient_call(world: ConsoleWorld, started: datetime) -> tuple[int, str]:
    with Session(world.engine) as session:
        patient = Patient(first_name="Jeanne", last_name="Dupont", phone="0612345678")
        session.add(patient)
        session.flush()
        call = Call(practice_id=world.practice_ids[0], patient_id=patient.id, caller_number="0612345678",
                    started_at=started, triage_level="urgent")
        session.add(call)
        session.flush()
        session.add(Turn(call_id=call.id, seq=1, speaker="caller", text=FEVER, at=started))
        session.add(CallReview(call_id=call.id, level="routine", reviewed_by=world.users["manager"],
                               reviewer="manager"))
        session.commit()
        assert patient.id is not None
        return patient.id, call.id


def _review_of(world: ConsoleWorld, call_id: str) -> CallReview | None:
    with Session(world.engine) as session:
        return session.get(CallReview, call_id)


def test_a_patients_export_holds_the_review_and_her_erasure_removes_it(world: ConsoleWorld):
    patient_id, call_id = _patient_call(world, datetime.now(UTC))
    _one_call(world, "b" * 32)
    with client_as(world, "manager") as manager:
        assert manager.put(f"/api/manager/calls/{'b' * 32}/review", json={"level": "routine"}).status_code == 200
    with client_as(world, "admin") as admin:
        export = admin.get(f"/api/admin/patients/{patient_id}/export")
        assert export.status_code == 200
        assert [(r["call_id"], r["level"]) for r in export.json()["call_reviews"]] == [(call_id, "routine")]
        erased = admin.post(f"/api/admin/patients/{patient_id}/erase", json={"confirm": "EFFACER"})
        assert erased.status_code == 200, erased.text
        assert erased.json()["erased"]["call_reviews"] == 1
    assert _review_of(world, call_id) is None
    assert _review_of(world, "b" * 32) is not None  # another caller's reviewed call is untouched
    with Session(world.engine) as session:
        assert session.get(Call, call_id) is not None  # the call stays, anonymised, for statistics
        assert gdpr.export_patient(session, patient_id)["call_reviews"] == []


def test_the_retention_purge_deletes_a_reviewed_call_with_its_review(world: ConsoleWorld):
    now = datetime(2030, 6, 1, tzinfo=UTC)
    _, old = _patient_call(world, now - timedelta(days=2000))
    _, recent = _patient_call(world, now - timedelta(days=10))
    dry = purge(world.engine, now=now, dry_run=True)
    assert dry.total.calls == 1 and _review_of(world, old) is not None
    done = purge(world.engine, now=now)
    assert done.total.calls == 1
    assert _review_of(world, old) is None and _review_of(world, recent) is not None
    with Session(world.engine) as session:
        assert session.get(Call, old) is None and session.get(Call, recent) is not None
