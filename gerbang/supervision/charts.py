"""Charts people read at a glance: small horizontal bar charts as inline SVG, rendered on the server.

No JavaScript and no ``style`` attributes (the Content Security Policy forbids both): only SVG presentation
attributes (``fill``, ``width``, ``font-size``). Every label is escaped; each chart carries a ``<title>`` and a
``<desc>`` that lists every bar with its figure, and each bar its own ``<title>``, for screen readers.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

WIDTH = 720
LABEL_WIDTH = 250
BAR_SPACE = 300
ROW = 26
BAR_HEIGHT = 18
TOP = 30
MAX_LABEL_CHARS = 28
COLOURS = {"normal": "#0b3d91", "alert": "#b00020", "good": "#1b7a3d"}
# The lighter bar behind the main one (a 95th percentile behind a median).
BEHIND = {"normal": "#a9bde0", "alert": "#e8a3ae", "good": "#a6d4b4"}

_ids = itertools.count(1)


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value (the bar's length) and the figure written beside it.

    ``behind``: a second, larger value drawn as a lighter bar behind the first (e.g. the 95th percentile
    behind the median); its figure belongs in ``text``.
    """

    label: str
    value: float
    text: str = ""
    behind: float | None = None

    @property
    def shown(self) -> str:
        return self.text or _format_number(self.value)


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"


def _length(value: float, top: float) -> float:
    """The bar's length for ``value`` on a scale whose longest bar is ``top``; a non-zero value stays visible."""
    if top <= 0 or value <= 0:
        return 0.0
    return max(BAR_SPACE * value / top, 2.0)


def bar_chart(title: str, bars: Sequence[Bar], *, tone: str = "normal", max_value: float | None = None) -> SafeString:
    """A horizontal bar chart of ``bars`` under ``title``; an empty chart says there is nothing to show."""
    n = next(_ids)
    title_id, desc_id = f"chart-{n}-title", f"chart-{n}-desc"
    fill = COLOURS.get(tone, COLOURS["normal"])
    light = BEHIND.get(tone, BEHIND["normal"])
    rows = list(bars)
    top = max([max_value or 0.0, *(max(b.value, b.behind or 0.0, 0.0) for b in rows)])
    height = TOP + 8 + ROW * max(len(rows), 1)
    desc = "; ".join(f"{b.label}: {b.shown}" for b in rows) if rows else _("No figures in this period.")
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" width="100%" '
        f'viewBox="0 0 {WIDTH} {height}" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{title_id} {desc_id}" font-family="system-ui, sans-serif" font-size="13">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{desc_id}">{escape(desc)}</desc>',
        f'<text x="0" y="16" font-size="15" font-weight="600" fill="#111" aria-hidden="true">{escape(title)}</text>',
    ]
    if not rows:
        parts.append(f'<text x="0" y="{TOP + 17}" fill="#555">{escape(desc)}</text>')
    for i, bar in enumerate(rows):
        y = TOP + i * ROW
        length = _length(bar.value, top)
        back = _length(bar.behind, top) if bar.behind is not None else 0.0
        parts.append(
            f"<g><title>{escape(bar.label)}: {escape(bar.shown)}</title>"
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 14}" text-anchor="end" fill="#111">{escape(_short(bar.label))}</text>'
        )
        if back > length:
            parts.append(
                f'<rect x="{LABEL_WIDTH}" y="{y + 1}" width="{back:.1f}" height="{BAR_HEIGHT}" fill="{light}"></rect>'
            )
        figure_x = LABEL_WIDTH + max(length, back) + 6
        parts.append(
            f'<rect x="{LABEL_WIDTH}" y="{y + 1}" width="{length:.1f}" height="{BAR_HEIGHT}" fill="{fill}"></rect>'
            f'<text x="{figure_x:.1f}" y="{y + 14}" fill="#111">{escape(bar.shown)}</text></g>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every piece of text above is escaped)
