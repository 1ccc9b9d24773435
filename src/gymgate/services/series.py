"""Allows and denies per hour or per local day, from the database's per-UTC-hour counts.

The database groups by UTC hour only (cheap, and the same on every backend); days are the
operator's own, in their time zone, so hours roll up into days here. Every bucket of the
range is present, zero when nothing happened, so a chart has no gaps.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

from gymgate.errors import InvalidInput
from gymgate.storage.functions import HOUR_FORMAT

__all__ = ["MAX_BUCKETS", "Bucket", "BucketSize", "bucketed"]

BucketSize = Literal["hour", "day"]
# Two months of hours, or more than a year of days: enough for any chart on a page.
MAX_BUCKETS: dict[BucketSize, int] = {"hour": 24 * 62, "day": 400}
HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Bucket:
    start: datetime  # aware; in the operator's zone for days, UTC for hours
    allow: int
    deny: int


def bucketed(
    hourly: Iterable[tuple[str, str, int]],
    *,
    since: datetime,
    until: datetime,
    size: BucketSize,
    zone: tzinfo,
) -> list[Bucket]:
    """Counts per bucket from [since, until); InvalidInput for an empty or too long range."""
    starts = list(_starts(since, until, size, zone))
    if not starts:
        raise InvalidInput("until must be later than since")
    if len(starts) > MAX_BUCKETS[size]:
        raise InvalidInput(f"at most {MAX_BUCKETS[size]} {size}s at once: narrow since/until")
    counts = {start: {"allow": 0, "deny": 0} for start in starts}
    for hour_text, result, count in hourly:
        hour = datetime.strptime(hour_text, HOUR_FORMAT).replace(tzinfo=UTC)
        key = _key(hour, size, zone)
        if key in counts:
            counts[key][result] += count
    return [Bucket(start, c["allow"], c["deny"]) for start, c in counts.items()]


def _key(hour: datetime, size: BucketSize, zone: tzinfo) -> datetime:
    if size == "hour":
        return hour
    return _midnight(hour.astimezone(zone).date(), zone)


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _starts(since: datetime, until: datetime, size: BucketSize, zone: tzinfo) -> Iterator[datetime]:
    if size == "hour":
        hour = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        while hour < until and hour - since < HOUR * (MAX_BUCKETS["hour"] + 1):
            yield hour
            hour += HOUR
        return
    day = since.astimezone(zone).date()
    while _midnight(day, zone) < until and (day - since.date()).days <= MAX_BUCKETS["day"]:
        yield _midnight(day, zone)
        day += timedelta(days=1)
