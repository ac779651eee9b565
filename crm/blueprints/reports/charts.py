"""Server-side SVG charts of the engagement report (pygal), readable offline and in print.

Every chart has a title, axis titles, and a text alternative: the SVG carries `role="img"`,
its <title> and a <desc> that summarises it, and the page shows the same figures in a table
next to it. `js=[]` keeps pygal from linking its tooltip script from the internet; the
configuration script it still inlines is removed too, since nothing uses it, and so is the
hidden tooltip group that script would fill.

The Content-Security-Policy (crm.security) refuses inline styles, so pygal's stylesheet is
taken out of the SVG: the page writes it in a <style> element carrying the request's nonce.

Months read as people name them ("Jan", "1月"), every one of them, in the interface's language.
pygal sizes its margins for Latin text (0.6 of the font size a character); a Chinese character
takes the whole font size, so the charts whose category labels stand beside an axis title get
the difference as extra room, or the title would cover the labels.
"""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from flask_babel import get_locale
from markupsafe import Markup

from crm.blueprints.reports._pygal import Style, pygal
from crm.i18n import gettext as _
from crm.models import Channel, EngagementLevel, label
from crm.services import clock, reporting

LABEL_FONT_SIZE = 13
# How many months a chart names one by one, and up to how many it names one a quarter.
EVERY_MONTH_UP_TO = 14
QUARTERS_UP_TO = 36
FONT = '"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "Helvetica Neue", Arial, sans-serif'
# Colour-blind-safe qualitative palette (Okabe–Ito), then greys.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
    "#999999",
    "#666666",
)
# The engagement level colours of the badges (static/css/app.css).
LEVEL_COLOURS = {
    EngagementLevel.unaware.value: "#adb5bd",
    EngagementLevel.aware.value: "#8fb3d9",
    EngagementLevel.engaged.value: "#2a6fa8",
    EngagementLevel.committed.value: "#1b7a50",
    EngagementLevel.champion.value: "#f0b429",
}


def _style(colours: tuple[str, ...] = PALETTE) -> Style:
    return Style(
        font_family=FONT,
        background="#ffffff",
        plot_background="#ffffff",
        foreground="#212529",
        foreground_strong="#212529",
        foreground_subtle="#6c757d",
        colors=colours,
        title_font_size=18,
        label_font_size=LABEL_FONT_SIZE,
        major_label_font_size=LABEL_FONT_SIZE,
        legend_font_size=13,
        value_font_size=12,
        tooltip_font_size=12,
    )


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    description: str
    svg: Markup
    # pygal's stylesheet for this chart, scoped to `#chart-<key>`: the template puts it in a
    # <style nonce> (no user text reaches it: colours and fonts come from this module).
    css: Markup


def _config(title: str, x_title: str, y_title: str, **extra: object) -> dict[str, object]:
    return {
        "js": [],
        "title": title,
        "x_title": x_title,
        "y_title": y_title,
        "disable_xml_declaration": True,
        "width": 800,
        "height": 420,
        # One row of legend entries under the plot (pygal misplaces a second row).
        "legend_at_bottom": True,
        "truncate_legend": 24,
        "print_values": False,
        "show_y_guides": True,
        "min_scale": 1,
        "max_scale": 8,
        "margin": 12,
        "style": _style(),
        "no_data_text": _("No data for this period"),
        **extra,
    }


def _counts(maximum: int) -> dict[str, object]:
    """Whole-number ticks for an axis of counts: pygal would label 0.4, 0.8… when the
    counts are small. At most about eight ticks, in steps of 1, 2 or 5 times a power of ten.
    Nothing for an empty chart: pygal then shows its "no data" text (and fails on labels)."""
    if maximum <= 0:
        return {}
    step = 1
    while maximum / step > 8:
        for factor in (2, 2.5, 2):  # 1 → 2 → 5 → 10 → 20 → 50 → 100 …
            step = int(step * factor)
            if maximum / step <= 8:
                break
    top = max(step, -(-maximum // step) * step)
    return {"y_labels": list(range(0, top + 1, step))}


def _render(chart: pygal.graph.graph.Graph, key: str, title: str, description: str) -> Chart:
    """The chart as inline SVG markup with an accessible title and description."""
    root = chart.render_tree()
    original_id = root.get("id", "")
    css: list[str] = []
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag == "style":
                # pygal scopes its CSS to the svg's id: keep the selectors matching the new id.
                css.append((child.text or "").replace(f"#{original_id}", f"#chart-{key}"))
            if child.tag in {"script", "style"} or "tooltip" in child.get("class", "").split():
                parent.remove(child)
    title_id, desc_id = f"{key}-title", f"{key}-desc"
    root.set("id", f"chart-{key}")
    root.set("role", "img")
    root.set("aria-labelledby", f"{title_id} {desc_id}")
    root.set("preserveAspectRatio", "xMidYMid meet")
    root.attrib.pop("width", None)
    root.attrib.pop("height", None)
    existing = next((c for c in root if c.tag == "title"), None)
    if existing is None:
        existing = ET.Element("title")
        root.insert(0, existing)
    existing.text = title
    existing.set("id", title_id)
    desc = ET.Element("desc", {"id": desc_id})
    desc.text = description
    root.insert(list(root).index(existing) + 1, desc)
    stylesheet = "\n".join(css)
    if "<" in stylesheet:  # could end the <style> element early: never expected from pygal
        raise ValueError("unexpected markup in the chart's stylesheet")
    svg = Markup(ET.tostring(root, encoding="unicode"))
    return Chart(key, title, description, svg, Markup(stylesheet))


def _wide_room(labels: Iterable[str], font_size: int = LABEL_FONT_SIZE) -> int:
    """The width pygal leaves out for the widest label: it counts 0.6 of the font size for
    every character, and a full-width (Chinese) character takes the whole of it."""
    return max(
        (
            round(0.4 * font_size * sum(unicodedata.east_asian_width(c) in "WF" for c in text))
            for text in labels
        ),
        default=0,
    )


def _month_axis(months: Sequence[date]) -> dict[str, object]:
    """The x labels of a chart per month: each month's name ("Jan" / "1月"), never shortened
    (pygal would cut "2026-01" to "2026-…"). Up to EVERY_MONTH_UP_TO months every month is
    named; up to QUARTERS_UP_TO, the first of each quarter; beyond, each January. When the
    period runs over more than one year, every January named carries its year, and so does
    the first month named, unless the next one named is a January (it would crowd it)."""
    if len(months) <= EVERY_MONTH_UP_TO:
        shown = list(range(len(months)))
    else:
        every = 3 if len(months) <= QUARTERS_UP_TO else 12
        shown = [i for i, month in enumerate(months) if (month.month - 1) % every == 0]
    years = set()
    if len({month.year for month in months}) > 1:
        years = {i for i in shown if months[i].month == 1}
        if shown and (len(shown) == 1 or months[shown[1]].month != 1):
            years.add(shown[0])
    labels = [
        clock.display(month, "month" if i in years else "month_name")
        for i, month in enumerate(months)
    ]
    axis: dict[str, object] = {"x_labels": labels, "truncate_label": -1}
    if len(shown) < len(months):
        # pygal matches majors by text: a month name stands for that month in every year.
        axis["x_labels_major"] = [labels[i] for i in shown]
        axis["show_minor_x_labels"] = False
    return axis


def interactions_by_channel(report: reporting.EngagementReport) -> Chart:
    title = _("Interactions per month by channel")
    top = max((sum(row.counts) for row in report.by_channel), default=0)
    months = _month_axis(report.period.months)
    chart = pygal.StackedBar(
        **_config(title, _("Month"), _("Interactions"), **months, **_counts(top))
    )
    for i, channel in enumerate(report.channels):
        chart.add(label(Channel(channel)), [row.counts[i] for row in report.by_channel])
    description = _(
        "Stacked bar chart: %(total)d interactions from %(start)s to %(end)s, per month, "
        "split by channel. The table below gives the figures.",
        total=report.interactions,
        start=report.period.start.isoformat(),
        end=report.period.end.isoformat(),
    )
    return _render(chart, "interactions-by-channel", title, description)


def interactions_by_sector(report: reporting.EngagementReport) -> Chart:
    title = _("Interactions per month by sector")
    top = max((n for row in report.by_sector for n in row.counts), default=0)
    months = _month_axis(report.period.months)
    chart = pygal.Bar(**_config(title, _("Month"), _("Interactions"), **months, **_counts(top)))
    for i, sector in enumerate(report.sectors):
        chart.add(reporting.sector_label(sector), [row.counts[i] for row in report.by_sector])
    description = _(
        "Bar chart: interactions per month from %(start)s to %(end)s, one bar per sector. "
        "The table below gives the figures.",
        start=report.period.start.isoformat(),
        end=report.period.end.isoformat(),
    )
    return _render(chart, "interactions-by-sector", title, description)


def engaged_by_type(report: reporting.EngagementReport) -> Chart:
    title = _("Stakeholders engaged by type")
    rows = report.engaged_by_type
    top = max((r.total for r in rows), default=0)
    types = [reporting.type_label(r.key) for r in rows]
    chart = pygal.HorizontalBar(
        # A horizontal chart: the value axis is at the bottom, the types on the left, between
        # the axis title and the plot: room for them as wide as they are.
        **_config(
            title,
            _("Stakeholders"),
            _("Stakeholder type"),
            height=380,
            margin_left=12 + _wide_room(types),
            **_counts(top),
        )
    )
    chart.x_labels = types
    chart.add(_("Engaged in the period"), [r.engaged for r in rows])
    chart.add(_("All"), [r.total for r in rows])
    description = _(
        "Horizontal bar chart: %(engaged)d of %(total)d stakeholders engaged, by type. "
        "The table below gives the figures.",
        engaged=report.engaged.engaged,
        total=report.engaged.total,
    )
    return _render(chart, "engaged-by-type", title, description)


def levels(report: reporting.EngagementReport) -> Chart:
    title = _("Engagement levels now")
    colours = tuple(LEVEL_COLOURS[level] for level, _n in report.levels.now)
    top = max((n for _level, n in report.levels.now), default=0)
    chart = pygal.Bar(
        **_config(
            title,
            _("Engagement level"),
            _("Stakeholders"),
            style=_style(colours),
            **_counts(top),
        )
    )
    chart.x_labels = [label(EngagementLevel(level)) for level, _n in report.levels.now]
    for i, (level, n) in enumerate(report.levels.now):
        values: list[int | None] = [None] * len(report.levels.now)
        values[i] = n
        chart.add(label(EngagementLevel(level)), values)
    description = _(
        "Bar chart: %(total)d stakeholders by engagement level; %(up)d moved up and %(down)d "
        "moved down in the period. The table below gives the figures.",
        total=report.levels.total,
        up=report.levels.moved_up,
        down=report.levels.moved_down,
    )
    return _render(chart, "levels", title, description)


def participants_by_sex(report: reporting.EngagementReport) -> Chart:
    title = _("Participants by sex")
    acts = report.activities
    top = max(
        acts.named_women + acts.unnamed_women,
        acts.named_men + acts.unnamed_men,
        acts.named_other,
        acts.named_undisclosed + acts.unnamed_unspecified,
    )
    chart = pygal.StackedBar(**_config(title, _("Sex"), _("Participants"), **_counts(top)))
    chart.x_labels = [_("Women"), _("Men"), _("Other"), _("Not stated")]
    chart.add(
        _("Named"), [acts.named_women, acts.named_men, acts.named_other, acts.named_undisclosed]
    )
    chart.add(
        _("Unnamed (sign-in sheets)"),
        [acts.unnamed_women, acts.unnamed_men, 0, acts.unnamed_unspecified],
    )
    share = reporting.percent(acts.share_of_women)
    description = _(
        "Stacked bar chart: %(total)d participants in %(held)d activities held, by sex, named "
        "and unnamed; women are %(share)s%% of them. The table below gives the figures.",
        total=acts.participants,
        held=acts.held_total,
        share="—" if share is None else f"{share:.1f}",
    )
    return _render(chart, "participants-by-sex", title, description)


def all_charts(report: reporting.EngagementReport) -> dict[str, Chart]:
    """The charts by the key of the table that holds their figures.

    Drawn once per report and language: the same figures in the same language make the same
    charts, and pygal takes longer to draw the five of them (some 45 ms) than the database
    takes to count most figures. The report is an immutable value (frozen dataclasses and
    tuples all the way down), so it is its own key: any figure that changes, or another
    period, filter or day, draws them anew. A few dozen reports of some 130 KB each at most
    are kept per process."""
    return dict(_drawn(report, str(get_locale())))


@lru_cache(maxsize=24)
def _drawn(report: reporting.EngagementReport, language: str) -> tuple[tuple[str, Chart], ...]:
    del language  # part of the key only: the drawing reads the request's locale
    return (
        ("interactions_by_channel", interactions_by_channel(report)),
        ("interactions_by_sector", interactions_by_sector(report)),
        ("engaged_by_type", engaged_by_type(report)),
        ("levels", levels(report)),
        ("participants_by_sex", participants_by_sex(report)),
    )
