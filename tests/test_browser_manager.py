"""A manager in headless Chromium: thresholds (French refusal, what-if replay, activation) and the reports page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis import Redis
from sqlmodel import Session, select

from practice.db import make_engine
from practice.demo import DEMO_SLUG
from practice.models import AuditLog, Call, Practice, ThresholdConfig, Ticket, TicketEvent, Turn
from tests.browser import SCREENSHOTS, chromium_page
from tests.live_server import running_server
from tests.test_browser_queue import REDIS_URL, _drop_default_prefix

pytestmark = pytest.mark.browser

FEVER = "ma fille de 6 ans a 39,5 de fièvre"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("manager-demo")
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


def _record_calls(db_path: Path) -> tuple[int, str]:
    """Yesterday's calls of the demo practice, as the agent records them: one feverish child, one booking."""
    engine = make_engine(f"sqlite:///{db_path}")
    fever_call = uuid.uuid4().hex
    with Session(engine) as session:
        practice = session.exec(select(Practice).where(Practice.slug == DEMO_SLUG)).one()
        assert practice.id is not None
        when = datetime.now(UTC) - timedelta(days=1)
        for call_id, text, escalated in ((fever_call, FEVER, True),
                                         (uuid.uuid4().hex, "je voudrais un rendez-vous mardi matin", False)):
            session.add(Call(id=call_id, practice_id=practice.id, started_at=when, ended_at=when,
                             outcome="escalated" if escalated else "booked", escalated=escalated,
                             triage_level="urgent" if escalated else "routine"))
            session.flush()
            session.add(Turn(call_id=call_id, seq=1, speaker="agent", text="Maison de santé des Tilleuls, bonjour."))
            session.add(Turn(call_id=call_id, seq=2, speaker="caller", text=text, triage={"level": "routine"}))
        session.add(Ticket(id=fever_call, practice_id=practice.id, level="urgent", reason="Fièvre élevée",
                           status="closed", created_at=when, claimed_at=when + timedelta(seconds=40), closed_at=when,
                           disposition="redirected_on_call"))
        session.flush()
        session.add_all([TicketEvent(ticket_id=fever_call, status="queued", at=when),
                         TicketEvent(ticket_id=fever_call, status="claimed", at=when + timedelta(seconds=40))])
        session.commit()
        practice_id = practice.id
    engine.dispose()
    return practice_id, fever_call


def _active_config(db_path: Path, practice_id: int) -> tuple[ThresholdConfig | None, list[AuditLog]]:
    engine = make_engine(f"sqlite:///{db_path}")
    with Session(engine) as session:
        row = session.exec(select(ThresholdConfig).where(ThresholdConfig.practice_id == practice_id,
                                                         ThresholdConfig.status == "active")).first()
        audit = list(session.exec(select(AuditLog).where(AuditLog.action == "threshold.activate")))
    engine.dispose()
    return row, audit


def test_manager_edits_replays_activates_and_reads_reports(demo: tuple[str, Path]):
    url, db_path = demo
    practice_id, fever_call = _record_calls(db_path)
    errors: list[str] = []
    # the refused draft is an expected 422
    with chromium_page(size=(1440, 900), errors=errors,
                       expected=("status of 422", "/api/manager/thresholds/drafts")) as page:

        page.goto(f"{url}/manager/thresholds?practice_id={practice_id}")
        assert "/login?next=" in page.url
        page.fill("#username", "manager")
        page.fill("#password", "demo")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{url}/manager/thresholds?practice_id={practice_id}")
        assert "Maison de santé des Tilleuls" in page.inner_text("#form-title")
        assert "au-delà, l'appel est traité comme urgent" in page.inner_text("#f-high_fever_celsius-help")

        # A bad value: refused with the French message next to the field, nothing saved.
        page.fill("#f-high_fever_celsius", "45")
        page.click("#save-draft")
        page.wait_for_selector("#f-high_fever_celsius-error:has-text('doit être inférieur ou égal à 40.5')")
        assert page.get_attribute("#f-high_fever_celsius", "aria-invalid") == "true"
        assert page.evaluate("document.activeElement.id") == "f-high_fever_celsius"
        page.screenshot(path=str(SCREENSHOTS / "manager-thresholds-refused.png"), full_page=True)
        assert _active_config(db_path, practice_id)[0] is None

        # A valid draft: what-if replay, side by side.
        page.fill("#f-high_fever_celsius", "40")
        page.click("#run-replay")
        page.wait_for_selector("#replay-result:not([hidden])", timeout=30000)
        table = page.inner_text("#replay-table")
        assert "Taux d'escalade" in table and "Urgences vitales reconnues" in table and "Sur-triage" in table
        rate = page.locator("#replay-table tbody tr").nth(1).locator("td")
        # The demo's weeks of history are replayed too: the figures vary, French number formatting does not.
        assert all(re.fullmatch(r"\d+(,\d)? %", rate.nth(i).inner_text()) for i in range(2)), rate.all_inner_texts()
        link = page.locator(f'#changed-list a[href="/manager/calls/{fever_call}"]')
        assert link.count() == 1
        assert "Urgent (transfert à une secrétaire) → Courant (traité par l'agent)" in page.inner_text("#changed-list")
        page.screenshot(path=str(SCREENSHOTS / "manager-thresholds-replay.png"), full_page=True)

        # The changed call opens on its transcript.
        link.click()
        page.wait_for_url(f"{url}/manager/calls/{fever_call}")
        assert FEVER in page.inner_text(".transcript-list")
        page.screenshot(path=str(SCREENSHOTS / "manager-call.png"), full_page=True)
        page.go_back()
        page.wait_for_selector("#f-high_fever_celsius")

        # Activate with a reason, from the keyboard.
        page.fill("#f-high_fever_celsius", "40")
        page.focus("#activate-reason")
        page.keyboard.type("Trop de transferts pour des fièvres bien tolérées")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "activate"
        page.keyboard.press("Enter")
        page.wait_for_selector("#notice:has-text('en vigueur')", timeout=10000)
        assert "En vigueur" in page.inner_text("#history")
        assert "Trop de transferts" in page.inner_text("#audit")
        page.screenshot(path=str(SCREENSHOTS / "manager-thresholds-activated.png"), full_page=True)

        # Reports: the heatmap and the tables.
        page.click("nav >> text=Rapports")
        page.wait_for_selector("svg#chart-heatmap")
        assert page.locator("svg#chart-heatmap rect").count() == 7 * 24
        assert int(page.inner_text("#kpi-calls")) >= 2  # the two recorded calls and the demo's history
        assert "Fièvre élevée" in page.inner_text("#table-escalations")
        page.screenshot(path=str(SCREENSHOTS / "manager-reports.png"), full_page=True)
    active, audit = _active_config(db_path, practice_id)
    assert active is not None and active.values["high_fever_celsius"] == 40.0
    assert audit[-1].actor == "manager" and audit[-1].detail["reason"].startswith("Trop de transferts")
    assert errors == []  # no script error, no CSP violation, no failed request


def test_manager_switches_to_english_and_reads_every_message_in_english(demo: tuple[str, Path]):
    """Header link to English; a refused value, the what-if replay and the activation all answer in English."""
    url, db_path = demo
    practice_id, _ = _record_calls(db_path)
    errors: list[str] = []
    # the refused draft is an expected 422
    with chromium_page(locale="en-GB", size=(1440, 900), errors=errors, expected=("status of 422",),
                       failed_requests=False) as page:
        page.goto(f"{url}/manager/thresholds?practice_id={practice_id}")
        page.fill("#username", "manager")
        page.fill("#password", "demo")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{url}/manager/thresholds?practice_id={practice_id}")

        # The language switch in the header brings the same page back in English.
        page.click('header a[hreflang="en"]')
        page.wait_for_selector("html[lang='en']")
        assert page.url == f"{url}/manager/thresholds?practice_id={practice_id}"
        assert page.inner_text("h1") == "Escalation thresholds"
        assert "above it, the call is treated as urgent" in page.inner_text("#f-high_fever_celsius-help")
        assert "(from 38 to 40.5; default 39.0)" in page.inner_text("#f-high_fever_celsius-help")

        # A bad value: refused in English, next to the field and in the notice.
        page.fill("#f-high_fever_celsius", "45")
        page.click("#save-draft")
        page.wait_for_selector("#f-high_fever_celsius-error:has-text('must be less than or equal to 40.5')")
        assert page.inner_text("#notice") == "Settings refused: please correct the fields marked."
        page.screenshot(path=str(SCREENSHOTS / "manager-thresholds-refused-english.png"), full_page=True)

        # The what-if replay: an English table, numbers written the English way.
        page.fill("#f-high_fever_celsius", "39")
        page.click("#run-replay")
        page.wait_for_selector("#replay-result:not([hidden])", timeout=30000)
        table = page.inner_text("#replay-table")
        for text in ("Escalation rate (15, transfer or call-back)", "Emergencies recognised", "Over-triage",
                     "Recorded calls — draft", "Level accuracy"):
            assert text in table, text
        rate = page.locator("#replay-table tbody tr").nth(1).locator("td").nth(0).inner_text()
        assert rate.endswith("%") and not rate.endswith(" %") and "," not in rate, rate
        assert "call(s) replayed in" in page.inner_text("#replay-status")
        count = page.inner_text("#changed-count")
        assert count == "(no change)" or "recorded call(s)" in count, count
        page.screenshot(path=str(SCREENSHOTS / "manager-thresholds-replay-english.png"), full_page=True)

        # Activation: the reason is required (English message), then the version goes into force.
        page.click("#activate")
        assert page.inner_text("#activate-reason-error") == (
            "Please give the reason for the change (at least 3 characters).")
        page.fill("#activate-reason", "Back to the usual fever threshold")
        page.click("#activate")
        page.wait_for_selector("#notice:has-text('is in force. The change is recorded in the log.')", timeout=10000)
        assert "In force" in page.inner_text("#history") and "Version activated" in page.inner_text("#audit")
        page.screenshot(path=str(SCREENSHOTS / "manager-thresholds-activated-english.png"), full_page=True)

        # Reports in English.
        page.click("nav >> text=Reports")
        page.wait_for_selector("svg#chart-heatmap")
        assert page.inner_text("h1") == "Reports"
        assert "Hand-offs to a secretary by level and reason" in page.inner_text("#table-escalations")
        assert page.locator("svg#chart-heatmap title").first.text_content() == "Calls by hour and day of the week"
        page.screenshot(path=str(SCREENSHOTS / "manager-reports-english.png"), full_page=True)
    active, audit = _active_config(db_path, practice_id)
    assert active is not None and active.values["high_fever_celsius"] == 39.0
    assert audit[-1].detail["reason"] == "Back to the usual fever threshold"
    assert errors == []
