"""Server-rendered inline SVG charts (no script, no CDN): heatmap, horizontal bars, stacked bars, daily line.

Every chart has a <title> and <desc>, each mark its own <title> (shown on hover), and the page repeats
the numbers in a table. Colours are presentation attributes, which the strict CSP allows. Texts and numbers
follow the reader's language (`language`, French by default); titles and labels come translated.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

from console.i18n import N_, tr

ACCENT = (15, 110, 140)
PALE = (238, 246, 249)
SECOND = "#e08a2c"
FONT = 'font-family="system-ui, sans-serif" font-size="12" fill="#1d2733"'
DAYS_SHORT = (N_("Lun"), N_("Mar"), N_("Mer"), N_("Jeu"), N_("Ven"), N_("Sam"), N_("Dim"))
DAYS_LONG = (N_("lundi"), N_("mardi"), N_("mercredi"), N_("jeudi"), N_("vendredi"), N_("samedi"), N_("dimanche"))
MONTHS_SHORT = (N_("janv."), N_("févr."), N_("mars"), N_("avr."), N_("mai"), N_("juin"), N_("juil."), N_("août"),
                N_("sept."), N_("oct."), N_("nov."), N_("déc."))
NO_DATA = N_("Aucune donnée sur la période.")


def _shade(value: float, top: float) -> str:
    t = 0.0 if top <= 0 else min(1.0, value / top)
    r, g, b = (round(p + (a - p) * t) for p, a in zip(PALE, ACCENT, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def _fmt(value: float, language: str = "fr") -> str:
    """A number as the language writes it: French "1\u202f234" and "2,5", English "1,234" and "2.5"."""
    if language != "fr":
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:.1f}"
    return f"{value:,.0f}".replace(",", "\u202f") if float(value).is_integer() else f"{value:.1f}".replace(".", ",")


def _open(chart_id: str, width: int, height: int, title: str, desc: str) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(chart_id)}" class="chart" role="img" '
            f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
            f'aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d">',
            f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
            f'<desc id="{escape(chart_id)}-d">{escape(desc)}</desc>']


def heatmap(chart_id: str, grid: Sequence[Sequence[int]], title: str, *, language: str = "fr") -> Markup:
    """Calls per weekday (rows) × hour (columns); darker is busier."""
    cell_w, cell_h, left, top = 30, 24, 44, 22
    width, height = left + 24 * cell_w + 4, top + 7 * cell_h + 4
    peak = max((v for row in grid for v in row), default=0)
    busiest = max(((d, h) for d in range(7) for h in range(24)), key=lambda dh: grid[dh[0]][dh[1]])
    desc = tr(language, "Carte de chaleur, 7 jours sur 24 heures ; maximum {peak} appels le {day} à {hour} h.",
              peak=_fmt(peak, language), day=tr(language, DAYS_LONG[busiest[0]]), hour=busiest[1])
    parts = _open(chart_id, width, height, title, desc)
    parts += [f'<text x="{left + h * cell_w + cell_w / 2}" y="14" text-anchor="middle" {FONT}>{h}</text>'
              for h in range(0, 24, 2)]
    for d in range(7):
        y = top + d * cell_h
        parts.append(f'<text x="{left - 6}" y="{y + cell_h / 2 + 4}" text-anchor="end" {FONT}>'
                     f'{escape(tr(language, DAYS_SHORT[d]))}</text>')
        day = tr(language, DAYS_LONG[d]).capitalize()
        for h in range(24):
            v = grid[d][h]
            hint = tr(language, "{day} {start} h – {end} h : {n} appel(s)", day=day, start=h, end=h + 1, n=v)
            parts.append(f'<rect x="{left + h * cell_w}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" rx="3" '
                         f'fill="{_shade(v, peak)}" data-day="{d}" data-hour="{h}" data-value="{v}">'
                         f'<title>{escape(hint)}</title></rect>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bars(chart_id: str, items: Sequence[tuple[str, float]], title: str, unit: str = "", *,
         language: str = "fr") -> Markup:
    """Horizontal bars, one per (label, value), longest first as given."""
    bar_h, left, right = 24, 230, 70
    width, height = 720, max(1, len(items)) * bar_h + 8
    top = max((v for _, v in items), default=0)
    def said(label: str, value: float) -> str:
        return tr(language, "{label} : {value}{unit}", label=label, value=_fmt(value, language), unit=unit)

    desc = "; ".join(said(label, v) for label, v in items) or tr(language, NO_DATA)
    parts = _open(chart_id, width, height, title, desc)
    span = width - left - right
    for i, (label, value) in enumerate(items):
        y = 4 + i * bar_h
        w = 0 if top <= 0 else max(1.0, span * value / top)
        parts += [f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" {FONT}>{escape(_cut(label, 34))}</text>',
                  f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{bar_h - 6}" rx="3" fill="#0f6e8c">'
                  f'<title>{escape(said(label, value))}</title></rect>',
                  f'<text x="{left + w + 6:.1f}" y="{y + 15}" {FONT}>{_fmt(value, language)}{escape(unit)}</text>']
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked(chart_id: str, items: Sequence[tuple[str, float, float]], title: str,
            names: tuple[str, str], *, language: str = "fr") -> Markup:
    """Horizontal stacked bars of two parts (e.g. booked by the agent / by the secretaries), with a legend."""
    bar_h, left, right, legend = 24, 230, 70, 26
    width, height = 720, legend + max(1, len(items)) * bar_h + 8
    top = max((a + b for _, a, b in items), default=0)

    def said(label: str, name: str, value: float) -> str:
        part = " — ".join((label, name))
        return tr(language, "{label} : {value}{unit}", label=part, value=_fmt(value, language), unit="")

    desc = "; ".join(tr(language, "{label} : {first} {a}, {second} {b}", label=label, first=names[0],
                        a=_fmt(a, language), second=names[1], b=_fmt(b, language))
                     for label, a, b in items) or tr(language, NO_DATA)
    parts = _open(chart_id, width, height, title, desc)
    parts += [f'<rect x="{left}" y="4" width="12" height="12" fill="#0f6e8c"/>',
              f'<text x="{left + 18}" y="14" {FONT}>{escape(names[0])}</text>',
              f'<rect x="{left + 160}" y="4" width="12" height="12" fill="{SECOND}"/>',
              f'<text x="{left + 178}" y="14" {FONT}>{escape(names[1])}</text>']
    span = width - left - right
    for i, (label, a, b) in enumerate(items):
        y = legend + i * bar_h
        wa = 0.0 if top <= 0 else span * a / top
        wb = 0.0 if top <= 0 else span * b / top
        parts += [f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" {FONT}>{escape(_cut(label, 34))}</text>',
                  f'<rect x="{left}" y="{y + 2}" width="{wa:.1f}" height="{bar_h - 6}" fill="#0f6e8c">'
                  f'<title>{escape(said(label, names[0], a))}</title></rect>',
                  f'<rect x="{left + wa:.1f}" y="{y + 2}" width="{wb:.1f}" height="{bar_h - 6}" fill="{SECOND}">'
                  f'<title>{escape(said(label, names[1], b))}</title></rect>',
                  f'<text x="{left + wa + wb + 6:.1f}" y="{y + 15}" {FONT}>{_fmt(a + b, language)}</text>']
    parts.append("</svg>")
    return Markup("".join(parts))


def line(chart_id: str, points: Sequence[tuple[date, int]], title: str, *, language: str = "fr") -> Markup:
    """Calls per day as a line, with the first day of each month marked on the axis."""
    width, height, left, bottom, top_pad = 720, 200, 44, 24, 10
    plot_w, plot_h = width - left - 10, height - bottom - top_pad
    peak = max((n for _, n in points), default=0) or 1
    total = sum(n for _, n in points)
    desc = (tr(language, "{days} jours, {calls} appels, au plus {peak} un même jour.", days=len(points),
               calls=_fmt(total, language), peak=_fmt(peak, language)) if points else tr(language, NO_DATA))
    parts = _open(chart_id, width, height, title, desc)
    step = plot_w / max(1, len(points) - 1)
    coords = [(left + i * step, top_pad + plot_h * (1 - n / peak)) for i, (_, n) in enumerate(points)]
    parts += [f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{width - 10}" y2="{top_pad + plot_h}" stroke="#b9c4cf"/>',
              f'<text x="{left - 6}" y="{top_pad + 8}" text-anchor="end" {FONT}>{peak}</text>',
              f'<text x="{left - 6}" y="{top_pad + plot_h}" text-anchor="end" {FONT}>0</text>']
    if coords:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#0f6e8c" stroke-width="1.5"/>')
    for i, (day, _) in enumerate(points):
        if day.day == 1 or (i == 0 and len(points) <= 62):
            x = left + i * step
            parts.append(f'<text x="{x:.1f}" y="{height - 6}" text-anchor="middle" {FONT}>'
                         f'{day.day if i == 0 and day.day != 1 else ""} '
                         f'{escape(tr(language, MONTHS_SHORT[day.month - 1]))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
