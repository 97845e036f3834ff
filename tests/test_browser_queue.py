"""A secretary in headless Chromium: a ticket appears live, she claims it, reads its summary (French, English)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from sqlmodel import Session, select

from escalation.queue import HumanQueue
from escalation.queue_keys import QueueKeys
from escalation.ticket_store import TicketSpec, TicketStore
from practice.db import make_engine
from practice.demo import DEMO_SLUG
from practice.models import Call, Practice, Ticket, Turn
from tests.browser import SCREENSHOTS, chromium_page
from tests.i18n_checks import french_leftovers
from tests.live_server import running_server

pytestmark = pytest.mark.browser

REDIS_URL = "redis://127.0.0.1:6379/12"  # a database of its own: the server uses the default key prefix


def _drop_default_prefix(redis: Redis) -> None:
    for key in redis.scan_iter(match=QueueKeys().pattern(), count=500):
        redis.delete(key)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("queue-demo")
    redis = Redis.from_url(REDIS_URL)
    _drop_default_prefix(redis)
    env = {"PERMANENCE_DATA_DIR": str(data_dir), "DATABASE_URL": "", "REDIS_URL": REDIS_URL,
           "PERMANENCE_SECRET_KEY": ""}
    try:
        with running_server("demo", env=env) as url:
            yield url, data_dir / "permanence.db"
    finally:
        _drop_default_prefix(redis)
        redis.close()


def _enqueue_emergency(db_path: Path) -> str:
    """What the agent does when a caller says an emergency sentence: record the call, enqueue the ticket."""
    engine = make_engine(f"sqlite:///{db_path}")
    call_id = uuid.uuid4().hex
    triage = {"level": "emergency", "intent": "symptom", "rules": [
        {"id": "chest_pain", "level": "emergency", "label": "Douleur thoracique",
         "evidence": "une douleur qui serre dans la poitrine", "action": "advise_15"}]}
    with Session(engine) as session:
        practice = session.exec(select(Practice).where(Practice.slug == DEMO_SLUG)).one()
        session.add(Call(id=call_id, practice_id=practice.id, caller_number="+33612345678",
                         triage_level="emergency", escalated=True))
        session.flush()
        session.add(Turn(call_id=call_id, seq=1, speaker="agent", text="Maison de santé des Tilleuls, bonjour."))
        session.add(Turn(call_id=call_id, seq=2, speaker="caller", triage=triage,
                         text="J'ai une douleur qui serre dans la poitrine depuis une heure."))
        session.commit()
        practice_id = practice.id
    redis = Redis.from_url(REDIS_URL)
    HumanQueue(redis, TicketStore(engine)).enqueue(
        TicketSpec(id=call_id, practice_id=practice_id, level="emergency", reason="Douleur thoracique",
                   caller_number="+33612345678"))
    redis.close()
    engine.dispose()
    return call_id


def _status(db_path: Path, ticket_id: str) -> str:
    engine = make_engine(f"sqlite:///{db_path}")
    with Session(engine) as session:
        ticket = session.get(Ticket, ticket_id)
        status = ticket.status if ticket else ""
    engine.dispose()
    return status


def test_secretary_sees_claims_reads_and_closes_a_live_ticket(demo: tuple[str, Path]):
    url, db_path = demo
    errors: list[str] = []
    with chromium_page(locale="fr-FR", size=(1366, 820), errors=errors) as page:
        page.goto(url + "/queue")
        assert page.url.endswith("/login?next=/queue")
        page.fill("#username", "secretaire")
        page.fill("#password", "demo")
        page.keyboard.press("Enter")
        page.wait_for_url(url + "/queue")
        page.wait_for_selector("#live.ok", timeout=10000)
        page.screenshot(path=str(SCREENSHOTS / "queue-empty.png"), full_page=True)

        ticket = _enqueue_emergency(db_path)
        row = page.locator(f'#waiting li[data-id="{ticket}"]')
        row.wait_for(timeout=5000)  # appears without reload, through the event stream
        assert "level-emergency" in (row.get_attribute("class") or "")
        assert "Douleur thoracique" in row.inner_text()
        page.screenshot(path=str(SCREENSHOTS / "queue-new-emergency.png"), full_page=True)

        row.get_by_role("button", name="Prendre").focus()
        page.keyboard.press("Enter")  # keyboard only
        page.wait_for_selector(f'#held li[data-id="{ticket}"]', timeout=5000)
        page.wait_for_selector("#d-reason:has-text('Douleur thoracique')", timeout=5000)
        assert "06 12 34 56 78" in page.inner_text("#d-caller")
        assert "une douleur qui serre dans la poitrine" in page.inner_text("#d-rules")
        assert "J'ai une douleur qui serre" in page.inner_text("#d-transcript")
        assert "15" in page.inner_text("#d-next")
        page.screenshot(path=str(SCREENSHOTS / "queue-claimed-summary.png"), full_page=True)

        page.select_option("#disposition", "advised_15")
        page.fill("#note", "Patient orienté vers le SAMU, le 15 a pris l'appel.")
        page.click("#d-close")
        page.wait_for_selector(f'#held li[data-id="{ticket}"]', state="detached", timeout=5000)
        page.wait_for_selector("#detail-body", state="hidden", timeout=5000)
        page.screenshot(path=str(SCREENSHOTS / "queue-closed.png"), full_page=True)
    assert _status(db_path, ticket) == "closed"
    assert errors == []  # no script error, no CSP violation


def _data_of(db_path: Path, ticket_id: str) -> tuple[str, ...]:
    """What is rightly French on an English page for this ticket: the practice, the caller's words, the reasons the
    agent wrote (this ticket's, and those of the demo history's callbacks still to make, listed on the page too)."""
    engine = make_engine(f"sqlite:///{db_path}")
    with Session(engine) as session:
        practice = session.exec(select(Practice).where(Practice.slug == DEMO_SLUG)).one()
        turns = session.exec(select(Turn).where(Turn.call_id == ticket_id)).all()
        ticket = session.get(Ticket, ticket_id)
        callbacks = session.exec(select(Ticket.reason).where(Ticket.status == "callback")).all()
        data = (practice.name, *(t.text for t in turns), ticket.reason if ticket else "", *callbacks,
                "une douleur qui serre dans la poitrine", "SOS Médecins")
    engine.dispose()
    return data


def test_an_english_speaking_secretary_works_the_queue_in_english(demo: tuple[str, Path]):
    url, db_path = demo
    errors: list[str] = []
    with chromium_page(locale="en-GB", size=(1366, 820), errors=errors) as page:
        page.goto(url + "/login?next=/queue")
        page.fill("#username", "secretaire")
        page.fill("#password", "demo")
        page.keyboard.press("Enter")
        page.wait_for_url(url + "/queue")
        page.click("header a[hreflang=en]")  # the language switch in the header
        page.wait_for_url(url + "/queue")
        page.wait_for_selector("#live.ok:has-text('Live')", timeout=10000)
        assert page.get_attribute("html", "lang") == "en"
        assert page.inner_text("h1") == "Queue"

        ticket = _enqueue_emergency(db_path)
        row = page.locator(f'#waiting li[data-id="{ticket}"]')
        row.wait_for(timeout=5000)  # arrives live, through the event stream
        assert row.locator(".badge").inner_text() == "Emergency"
        assert "Douleur thoracique" in row.inner_text()  # the reason is data: it stays as the agent wrote it
        page.wait_for_selector("#notice:has-text('New call: life-threatening emergency!')", timeout=5000)
        page.wait_for_selector(f'#waiting li[data-id="{ticket}"] .wait:has-text("waiting for")', timeout=5000)
        page.screenshot(path=str(SCREENSHOTS / "queue-new-emergency-english.png"), full_page=True)

        row.get_by_role("button", name="Take").click()
        page.wait_for_selector("#notice:has-text('Call taken.')", timeout=5000)
        page.wait_for_selector(f'#held li[data-id="{ticket}"]', timeout=5000)
        page.wait_for_selector("#d-reason:has-text('Douleur thoracique')", timeout=5000)
        assert page.inner_text("#d-level") == "Emergency"
        assert "Name not given" in page.inner_text("#d-caller")
        assert "(Emergency):" in page.inner_text("#d-rules")
        assert page.inner_text("#d-actions") == "nothing"
        assert "Caller:" in page.inner_text("#d-transcript")
        assert page.inner_text("#d-release") == "Put back in the queue"
        assert "Referred to 15 (SAMU emergency services)" in page.inner_text("#disposition")
        allowed = (*_data_of(db_path, ticket), page.inner_text("#d-next"), "Camille Secrétaire")
        assert french_leftovers(page.content(), allowed=allowed) == []
        page.screenshot(path=str(SCREENSHOTS / "queue-claimed-summary-english.png"), full_page=True)

        page.click("#d-release")
        page.wait_for_selector("#notice:has-text('Call put back in the queue.')", timeout=5000)
    assert _status(db_path, ticket) == "queued"
    assert errors == []
