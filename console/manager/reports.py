"""The manager's reports: the database's aggregates folded into tables (also exported as CSV).

Tables are built with French labels (`LazyText`: the source text, what tests and keys compare) and shown in the
reader's language by `Table.localised`; a row's identity is its key (a level code, "total"), never its label.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.engine import Connection, Engine

from console.i18n import N_, LazyText, in_language, tr
from console.manager import reports_sql as q
from console.manager.reports_sql import Scope

LEVELS = ("emergency", "urgent", "routine")
LEVELS_FR = {"emergency": N_("Urgence vitale"), "urgent": N_("Urgent"), "routine": N_("Courant"),
             q.ALL: N_("Tous niveaux")}
OUTCOMES_FR = {"booked": N_("Rendez-vous pris"), "cancelled": N_("Annulation"), "rescheduled": N_("Déplacement"),
               "confirmed": N_("Confirmation"), "informed": N_("Renseignement"), "message": N_("Message"),
               "escalated": N_("Passé à une secrétaire"), "abandoned": N_("Raccroché avant de parler"),
               "completed": N_("Terminé"), "error": N_("Erreur technique"), "": N_("En cours")}
WEEKDAYS_FR = (N_("Lundi"), N_("Mardi"), N_("Mercredi"), N_("Jeudi"), N_("Vendredi"), N_("Samedi"), N_("Dimanche"))
BOOKED_BY_FR = {"agent": N_("Agent"), "human": N_("Secrétariat")}
TOTAL_KEY = "total"


@dataclass
class Table:
    """One report table: headers and rows (what the page shows and the CSV exports), French until `localised`.

    `keys` names each row whatever the language (a level code, "*" for all levels, "total"); may be empty."""

    title: str
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    language: str = "fr"

    def localised(self, language: str) -> Table:
        """The table in `language`: title, headers and labels translated; numbers and data untouched."""
        return Table(tr(language, self.title), [tr(language, h) for h in self.headers],
                     [[in_language(v, language) for v in row] for row in self.rows], list(self.keys), language)

    def row_for(self, key: str) -> list[Any] | None:
        """The row with this key (None when the table has none)."""
        return next((row for k, row in zip(self.keys, self.rows, strict=False) if k == key), None)

    def csv(self) -> str:
        """The table as CSV: French `;` and decimal commas, English `,` and decimal points."""
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";" if self.language == "fr" else ",", lineterminator="\r\n")
        writer.writerow(self.headers)
        writer.writerows([_csv_cell(v, self.language) for v in row] for row in self.rows)
        return out.getvalue()


def _csv_cell(value: Any, language: str) -> Any:
    if isinstance(value, float):
        text = f"{value:.4f}".rstrip("0").rstrip(".")
        return text.replace(".", ",") if language == "fr" else text
    return "" if value is None else value


@dataclass
class Reports:
    """Every report for one scope."""

    heatmap: list[list[int]]  # [weekday][hour], local time
    daily: list[tuple[date, int]]
    total_calls: int
    contained: int
    tables: dict[str, Table]

    @property
    def containment(self) -> float | None:
        return round(self.contained / self.total_calls, 4) if self.total_calls else None

    def localised(self, language: str) -> Reports:
        """Every table in `language` (the figures stay as they are)."""
        return Reports(self.heatmap, self.daily, self.total_calls, self.contained,
                       {name: table.localised(language) for name, table in self.tables.items()})

    def to_dict(self) -> dict[str, Any]:
        return {"total_calls": self.total_calls, "contained": self.contained, "containment": self.containment,
                "heatmap": self.heatmap, "daily": [{"day": d.isoformat(), "calls": n} for d, n in self.daily],
                "tables": {k: {"title": t.title, "headers": t.headers, "rows": t.rows} for k, t in self.tables.items()}}


TABLE_NAMES = ("volume", "daily", "outcomes", "escalations", "waits", "abandoned", "callbacks", "appointments")


QUERIES: dict[str, Callable[[Connection, Scope, datetime], Any]] = {
    "hourly": lambda conn, scope, now: q.hourly_volume(conn, scope),
    "outcomes": lambda conn, scope, now: q.outcomes(conn, scope),
    "escalations": lambda conn, scope, now: q.escalations(conn, scope),
    "statuses": lambda conn, scope, now: q.ticket_statuses(conn, scope),
    "waits": lambda conn, scope, now: q.wait_percentiles(conn, scope),
    "callbacks": q.callbacks,
    "appointments": lambda conn, scope, now: q.appointments(conn, scope),
}
NEEDS = {"volume": ("hourly",), "daily": ("hourly",), "outcomes": ("outcomes",), "escalations": ("escalations",),
         "waits": ("waits",), "abandoned": ("statuses", "outcomes"), "callbacks": ("callbacks",),
         "appointments": ("appointments",)}
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="reports")


def _run(engine: Engine, name: str, scope: Scope, now: datetime) -> Any:
    with engine.connect() as conn:
        return QUERIES[name](conn, scope, now)


def build_reports(engine: Engine, scope: Scope, *, now: datetime | None = None,
                  only: Sequence[str] = TABLE_NAMES) -> Reports:
    """Run the aggregates the asked tables need, side by side on their own connections, and fold them."""
    now = now or datetime.now(UTC)
    names = sorted({n for table in only for n in NEEDS[table]})
    futures = {name: _POOL.submit(_run, engine, name, scope, now) for name in names}
    got = {name: future.result() for name, future in futures.items()}
    heatmap, daily = _fold_hours(got.get("hourly", []), scope)
    outcomes = got.get("outcomes", [])
    total = sum(n for _, _, n in outcomes)
    contained = sum(n for _, human, n in outcomes if not human)
    makers: dict[str, Callable[[], Table]] = {
        "volume": lambda: _volume_table(heatmap),
        "daily": lambda: _daily_table(daily),
        "outcomes": lambda: _outcomes_table(outcomes, total),
        "escalations": lambda: _escalations_table(got["escalations"]),
        "waits": lambda: _waits_table(got["waits"]),
        "abandoned": lambda: _abandoned_table(got["statuses"], outcomes),
        "callbacks": lambda: _callbacks_table(got["callbacks"]),
        "appointments": lambda: _appointments_table(got["appointments"]),
    }
    return Reports(heatmap, daily, total, contained, {name: makers[name]() for name in only})


def _fold_hours(hourly: list[tuple[datetime, int]], scope: Scope) -> tuple[list[list[int]], list[tuple[date, int]]]:
    """UTC hour buckets → local weekday × hour counts and local daily totals (every day of the period)."""
    tz = scope.span.tz
    heat = [[0] * 24 for _ in range(7)]
    per_day: Counter[date] = Counter()
    for at, n in hourly:
        local = at.astimezone(tz)
        heat[local.weekday()][local.hour] += n
        per_day[local.date()] += n
    days = [date.fromordinal(scope.span.first.toordinal() + i) for i in range(scope.span.days)]
    return heat, [(d, per_day.get(d, 0)) for d in days]


def _volume_table(heat: list[list[int]]) -> Table:
    rows = [[LazyText(WEEKDAYS_FR[d]), *heat[d], sum(heat[d])] for d in range(7)]
    return Table(N_("Appels par heure et jour de la semaine"), [N_("Jour"), *(f"{h}h" for h in range(24)), N_("Total")],
                 rows, [str(d) for d in range(7)])


def _daily_table(daily: list[tuple[date, int]]) -> Table:
    return Table(N_("Appels par jour"), [N_("Jour"), N_("Appels")], [[d.isoformat(), n] for d, n in daily],
                 [d.isoformat() for d, _ in daily])


def _outcomes_table(outcomes: list[tuple[str, bool, int]], total: int) -> Table:
    ordered = sorted(outcomes, key=lambda r: -r[2])
    rows = [[LazyText(OUTCOMES_FR.get(o, o)), LazyText(N_("oui") if human else N_("non")), n, _share(n, total)]
            for o, human, n in ordered]
    return Table(N_("Issue des appels (traités sans humain : « non »)"),
                 [N_("Issue"), N_("Humain impliqué"), N_("Appels"), N_("Part")], rows,
                 [f"{o}:{'human' if human else 'agent'}" for o, human, _ in ordered])


def _escalations_table(rows: list[tuple[str, str, int]]) -> Table:
    total = sum(n for _, _, n in rows)
    ordered = sorted(rows, key=lambda r: (LEVELS.index(r[0]) if r[0] in LEVELS else 9, -r[2], r[1]))
    rows_out = [[LazyText(LEVELS_FR.get(lvl, lvl)), LazyText(reason) if reason else LazyText(N_("(sans motif)")), n,
                 _share(n, total)] for lvl, reason, n in ordered]
    return Table(N_("Passages à une secrétaire par niveau et motif"),
                 [N_("Niveau"), N_("Motif"), N_("Tickets"), N_("Part")], rows_out, [lvl for lvl, _, _ in ordered])


def _waits_table(waits: list[q.WaitFigures]) -> Table:
    order = [*LEVELS, q.ALL]
    ordered = sorted(waits, key=lambda w: order.index(w.level) if w.level in order else 9)
    return Table(N_("Attente avant prise en charge (secondes)"),
                 [N_("Niveau"), N_("Tickets pris"), N_("Moyenne"), "p50", "p95"],
                 [[LazyText(LEVELS_FR.get(w.level, w.level)), w.count, w.mean, w.p50, w.p95] for w in ordered],
                 [w.level for w in ordered])


def _abandoned_table(statuses: list[tuple[str, str, int]], outcomes: list[tuple[str, bool, int]]) -> Table:
    per_level: dict[str, Counter[str]] = defaultdict(Counter)
    for level, status, n in statuses:
        per_level[level][status] += n
    rows: list[list[Any]] = []
    levels = [lvl for lvl in LEVELS if lvl in per_level]
    for level in levels:
        counts = per_level[level]
        total = sum(counts.values())
        rows.append([LazyText(N_("En attente d'une secrétaire — {level}"), level=LazyText(LEVELS_FR[level])),
                     counts["abandoned"], total, _share(counts["abandoned"], total)])
    calls = sum(n for _, _, n in outcomes)
    dropped = sum(n for o, _, n in outcomes if o == "abandoned")
    rows.append([LazyText(N_("Avant d'avoir parlé à l'agent")), dropped, calls, _share(dropped, calls)])
    return Table(N_("Appels abandonnés"), [N_("Moment"), N_("Abandons"), N_("Sur"), N_("Part")], rows,
                 [*levels, "before_agent"])


def _callbacks_table(rows: list[tuple[str, int, int, int, int, int]]) -> Table:
    ordered = sorted(rows, key=lambda r: LEVELS.index(r[0]) if r[0] in LEVELS else 9)
    out = [[LazyText(LEVELS_FR.get(lvl, lvl)), n, on_time, late, overdue, pending,
            _share(on_time, on_time + late + overdue)] for lvl, n, on_time, late, overdue, pending in ordered]
    keys = [r[0] for r in ordered]
    if len(out) > 1:
        sums = [sum(int(r[i]) for r in ordered) for i in range(1, 6)]
        out.append([LazyText(LEVELS_FR[q.ALL]), *sums, _share(sums[1], sums[1] + sums[2] + sums[3])])
        keys.append(q.ALL)
    return Table(N_("Rappels et délai promis"),
                 [N_("Niveau"), N_("Rappels"), N_("Dans le délai"), N_("En retard"), N_("Non faits (échus)"),
                  N_("À venir"), N_("Part dans le délai")], out, keys)


def _appointments_table(rows: list[tuple[int, str, str, int, int]]) -> Table:
    per: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: {"agent": 0, "human": 0, "cancelled": 0})
    for pid, name, by, n, cancelled in rows:
        per[(pid, name)][by] = per[(pid, name)].get(by, 0) + n
        per[(pid, name)]["cancelled"] += cancelled
    out: list[list[Any]] = []
    keys: list[str] = []
    for (pid, name), c in sorted(per.items(), key=lambda kv: kv[0][1]):
        total = c["agent"] + c["human"]
        out.append([name, c["agent"], c["human"], total, _share(c["agent"], total), c["cancelled"]])
        keys.append(str(pid))
    if out:
        agent, human = sum(r[1] for r in out), sum(r[2] for r in out)
        out.append([LazyText(N_("Total")), agent, human, agent + human, _share(agent, agent + human),
                    sum(r[5] for r in out)])
        keys.append(TOTAL_KEY)
    return Table(N_("Rendez-vous pris par l'agent ou par le secrétariat"),
                 [N_("Praticien"), BOOKED_BY_FR["agent"], BOOKED_BY_FR["human"], N_("Total"), N_("Part agent"),
                  N_("Annulés depuis")], out, keys)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
