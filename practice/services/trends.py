"""Trends: a couple's check-ins over 12, 26 or 52 weeks, as series ready to chart.

Per partner: each progress marker, the week's trigger count and longest recovery, whether
the check-in was handed in, and the share of agreements kept. Only handed-in check-ins
count; a week without one is a gap, never a zero. Safety answers are not check-in content
and never reach a trend. What a partner may see is decided by the caller: their own
trend, and the other partner's only where that partner shared the week.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from practice.charts import Series, line_chart, table_rows, timeline_bands
from practice.checkins.questions import MARKERS
from practice.checkins.status import HANDED_IN
from practice.extensions import db
from practice.models import Couple, Partner
from practice.models.checkin import Checkin
from practice.services import checkins as checkin_service
from practice.services import triggers as trigger_service

SPANS = (12, 26, 52)
KEPT_SCORE = {"yes": 1.0, "mostly": 0.5, "no": 0.0}


@dataclass(frozen=True)
class PartnerTrend:
    partner: Partner
    markers: dict[str, Series]  # marker key -> one value per week
    triggers: Series
    longest_minutes: Series
    kept: Series  # share of agreements kept, 0-100
    handed_in: list[bool]
    # From the trigger log (counts only, never its words): each week's entries and longest
    # minutes to steady. Empty where the viewer may not read that partner's log.
    logged: Series = Series("Triggers logged", ())
    logged_longest: Series = Series("Longest recovery logged (minutes)", ())

    @property
    def has_log(self) -> bool:
        return any(value for value in self.logged.values)

    @property
    def completion(self) -> int:
        """Check-ins handed in, as a percentage of the weeks shown."""
        if not self.handed_in:
            return 0
        return round(100 * sum(self.handed_in) / len(self.handed_in))


@dataclass(frozen=True)
class CoupleTrend:
    weeks: list[date]
    partners: list[PartnerTrend]
    weeks_since_start: int  # how far into the work the last week is (for the timeline)

    @property
    def log_rows(self) -> list[tuple[date, list]]:
        """The weeks someone logged a trigger, newest first (see `log_rows`)."""
        return log_rows(self)


# A chart never starts before the work began, but shows at least this many weeks.
MIN_WEEKS = 4


def _weeks(couple: Couple, span: int, until: date | None = None) -> list[date]:
    """The weeks shown: the last `span` (up to the week of `until`, or this week), or fewer
    when the work began more recently (a couple six weeks in sees six weeks, not twenty
    empty ones before they started)."""
    now = None
    if until is not None:
        now = datetime.combine(until, time(23, 59), tzinfo=UTC)
    last = checkin_service.week_of(couple, now)
    started = couple.start_date or couple.created_at.date()
    since = (last - started).days // 7 + 1
    count = min(span, max(since, MIN_WEEKS))
    return [last - timedelta(weeks=count - 1 - i) for i in range(count)]


def couple_trend(
    couple: Couple,
    span: int = 26,
    *,
    for_partner: Partner | None = None,
    shared_only: bool = False,
    until: date | None = None,
) -> CoupleTrend:
    """The couple's trend over `span` weeks (ending with the week of `until`, or this week).

    With `for_partner`, what that partner may see: their own check-ins, and the other's only
    in weeks the other shared. With `shared_only`, what both partners may see: only the
    weeks each of them shared (the couple's copy of a summary).

    The trigger log is private to its author and the therapists: the therapists' trend
    counts both partners' entries, a partner's own trend only theirs, the couple's none.
    """
    if span not in SPANS:
        span = 26
    weeks = _weeks(couple, span, until)
    rows = db.session.scalars(
        select(Checkin).where(
            Checkin.couple_id == couple.id,
            Checkin.week_of >= weeks[0],
            Checkin.week_of <= weeks[-1],
            Checkin.status.in_(HANDED_IN),
        )
    ).all()
    if shared_only:
        log = {}
    else:
        readable = None if for_partner is None else [for_partner.id]
        log = trigger_service.weekly(couple, weeks, readable)
    by_partner: dict[int, dict[date, Checkin]] = {}
    for row in rows:
        if shared_only and not row.shared:
            continue
        if for_partner is not None and row.partner_id != for_partner.id and not row.shared:
            continue
        by_partner.setdefault(row.partner_id, {})[row.week_of] = row
    partners = []
    for partner in couple.partners:
        weekly = by_partner.get(partner.id, {})
        hidden = shared_only or (for_partner is not None and partner.id != for_partner.id)
        if hidden and not weekly:
            continue  # nothing shared: that partner's trend is not shown at all
        partners.append(_partner_trend(partner, weeks, weekly, log.get(partner.id, {})))
    started = couple.start_date or couple.created_at.date()  # when the work began
    return CoupleTrend(
        weeks=weeks,
        partners=partners,
        weeks_since_start=max((weeks[-1] - started).days // 7, 0),
    )


def _partner_trend(partner: Partner, weeks: list[date], weekly: dict[date, Checkin], log: dict):
    def values(pick) -> list[float | None]:
        return [pick(weekly[week].content) if week in weekly else None for week in weeks]

    markers = {
        marker.key: Series(marker.name, values(lambda c, k=marker.key: c.get("markers", {}).get(k)))
        for marker in MARKERS
    }

    def kept(content: dict) -> float | None:
        answers = [KEPT_SCORE[a] for a in content.get("kept", {}).values() if a in KEPT_SCORE]
        return round(100 * sum(answers) / len(answers)) if answers else None

    return PartnerTrend(
        partner=partner,
        markers=markers,
        triggers=Series("Triggers", values(lambda c: c.get("triggers", {}).get("count"))),
        longest_minutes=Series(
            "Longest recovery (minutes)",
            values(lambda c: c.get("triggers", {}).get("longest_minutes")),
        ),
        kept=Series("Agreements kept (%)", values(kept)),
        handed_in=[week in weekly for week in weeks],
        logged=Series("Triggers logged", [log[w].count if w in log else None for w in weeks]),
        logged_longest=Series(
            "Longest recovery logged (minutes)",
            [log[w].longest_minutes if w in log else None for w in weeks],
        ),
    )


def log_rows(trend: CoupleTrend, newest_first: bool = True) -> list[tuple[date, list]]:
    """The weeks someone logged a trigger: (week, [(count, longest minutes) per partner])."""
    rows = []
    for index, week in enumerate(trend.weeks):
        cells = [
            (
                p.logged.values[index] if p.logged.values else None,
                p.logged_longest.values[index] if p.logged_longest.values else None,
            )
            for p in trend.partners
        ]
        if any(count for count, _ in cells):
            rows.append((week, cells))
    return rows[::-1] if newest_first else rows


def marker_series(trend: CoupleTrend, marker_key: str) -> list[Series]:
    """One marker across the partners shown, each line named for its partner."""
    return [
        Series(partner.partner.display_name, partner.markers[marker_key].values)
        for partner in trend.partners
    ]


def worse_three_weeks_running(trend: PartnerTrend) -> list[str]:
    """The markers that went down three handed-in weeks running (for "needs you today")."""
    found = []
    for key, series in trend.markers.items():
        recent = [value for value in series.values if value is not None][-4:]
        if len(recent) == 4 and all(b < a for a, b in zip(recent, recent[1:], strict=False)):
            found.append(key)
    return found


def _both_widths(series, *, narrow: bool, **options) -> dict[str, str]:
    """The chart drawn for a desk and, for a page, for a phone (the page shows one by its
    width: an SVG scaled down to a phone would have text too small to read)."""
    ident = options.pop("ident")
    if not narrow:  # for print: half a page wide, fewer weeks named under it
        return {"svg": line_chart(series, ident=ident, ticks=4, **options)}
    charts = {"svg": line_chart(series, ident=ident, **options)}
    if narrow:
        charts["svg_narrow"] = line_chart(
            series, ident=f"{ident}-narrow", width=360, height=240, compact=True, **options
        )
    return charts


def chart_set(trend: CoupleTrend, *, prefix: str, narrow: bool = True) -> list[dict]:
    """Every chart of a trend, the same for a page and a PDF: title, SVGs (`svg`, and
    `svg_narrow` for a phone unless `narrow` is False), table rows and headers."""
    bands = timeline_bands(trend.weeks_since_start, len(trend.weeks))
    names = [p.partner.display_name for p in trend.partners]
    charts = []
    for marker in MARKERS:
        series = marker_series(trend, marker.key)
        charts.append(
            {
                "title": marker.name,
                **_both_widths(
                    series,
                    narrow=narrow,
                    weeks=trend.weeks,
                    y_min=1,
                    y_max=5,
                    title=marker.name,
                    y_labels={1: marker.low, 5: marker.high},
                    bands=bands,
                    ident=f"{prefix}-{marker.key.replace('_', '-')}",
                ),
                "headers": ["Week", *names],
                "rows": table_rows(series, trend.weeks),
            }
        )
    for label, pick, top in (
        ("Triggers in the week", lambda p: p.triggers, None),
        ("Longest recovery (minutes)", lambda p: p.longest_minutes, None),
        ("Agreements kept (%)", lambda p: p.kept, 100),
    ):
        series = [Series(p.partner.display_name, pick(p).values) for p in trend.partners]
        values = [v for s in series for v in s.values if v is not None]
        highest = top or max([*values, 1])
        charts.append(
            {
                "title": label,
                **_both_widths(
                    series,
                    narrow=narrow,
                    weeks=trend.weeks,
                    y_min=0,
                    y_max=highest,
                    title=label,
                    y_labels={0: "0", highest: str(highest)},
                    bands=bands,
                    ident=f"{prefix}-{label.split()[0].lower()}",
                ),
                "headers": ["Week", *names],
                "rows": table_rows(series, trend.weeks),
            }
        )
    return charts
