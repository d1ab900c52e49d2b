"""Time values: ArcGIS epoch milliseconds ⇄ ISO 8601 for OGC TIME, and WMS time-dimension extents."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from translators.errors import InvalidParameter
from translators.params import parse_float

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class TimeRange:
    """A closed time interval; an open end is None.  ``start == end`` is an instant."""

    start: datetime | None
    end: datetime | None

    @property
    def is_instant(self) -> bool:
        """True when the range is a single instant."""
        return self.start is not None and self.start == self.end


def from_epoch_ms(value: float) -> datetime:
    """Convert ArcGIS epoch milliseconds to an aware UTC datetime."""
    return EPOCH + timedelta(milliseconds=value)


def to_epoch_ms(value: datetime) -> int:
    """Convert an aware datetime to ArcGIS epoch milliseconds."""
    return round((value - EPOCH) / timedelta(milliseconds=1))


def iso(value: datetime) -> str:
    """Format as ISO 8601 UTC with a ``Z``; milliseconds only when present."""
    value = value.astimezone(UTC)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_arcgis_time(text: str, parameter: str = "time") -> TimeRange:
    """Parse ``t``, ``t1,t2``, ``null,t2`` or ``t1,null`` (epoch milliseconds) into a range."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (1, 2):
        raise InvalidParameter(parameter, f"expected '<time>' or '<start>,<end>', got '{text}'")

    def one(part: str) -> datetime | None:
        if part.lower() in ("null", "none", ""):
            return None
        try:
            return from_epoch_ms(parse_float(part, parameter))
        except OverflowError:
            raise InvalidParameter(parameter, f"'{part}' is out of range") from None

    if len(parts) == 1:
        instant = one(parts[0])
        if instant is None:
            raise InvalidParameter(parameter, "a time instant cannot be null")
        return TimeRange(instant, instant)
    start, end = one(parts[0]), one(parts[1])
    if start is None and end is None:
        raise InvalidParameter(parameter, "at least one end of the time extent must be given")
    if start is not None and end is not None and start > end:
        raise InvalidParameter(parameter, "the start of the time extent is after its end")
    return TimeRange(start, end)


_ISO_RE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:[T ](?P<H>\d{2})(?::(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d+))?)?)?)?)?)?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 date or date-time as found in OGC capabilities (``2020``, ``2020-01-01T00:00:00Z`` …)."""
    match = _ISO_RE.match(text.strip())
    if not match:
        raise ValueError(f"not an ISO 8601 time: {text!r}")
    g = match.groupdict()
    frac = (g["f"] or "0")[:6].ljust(6, "0")
    value = datetime(
        int(g["y"]), int(g["m"] or 1), int(g["d"] or 1), int(g["H"] or 0), int(g["M"] or 0), int(g["S"] or 0),
        int(frac), tzinfo=UTC,
    )
    tz = g["tz"]
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        value -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return value


_DURATION_RE = re.compile(
    r"^P(?:(?P<Y>\d+)Y)?(?:(?P<Mo>\d+)M)?(?:(?P<W>\d+)W)?(?:(?P<D>\d+)D)?"
    r"(?:T(?:(?P<H>\d+)H)?(?:(?P<Mi>\d+)M)?(?:(?P<S>\d+(?:\.\d+)?)S)?)?$"
)


@dataclass(frozen=True)
class Duration:
    """An ISO 8601 period split into calendar months and exact seconds."""

    months: int
    seconds: float

    def add_to(self, value: datetime) -> datetime:
        """Return ``value`` advanced by this period (months by calendar, clamped to the month's last day)."""
        month_index = value.month - 1 + self.months
        year, month = value.year + month_index // 12, month_index % 12 + 1
        days = [31, 29 if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 28, 31, 30, 31, 30, 31, 31,
                30, 31, 30, 31][month - 1]
        return value.replace(year=year, month=month, day=min(value.day, days)) + timedelta(seconds=self.seconds)

    def arcgis_interval(self) -> tuple[float, str]:
        """Express the period as an ArcGIS ``(defaultTimeInterval, defaultTimeIntervalUnits)`` pair."""
        if self.months and not self.seconds:
            if self.months % 12 == 0:
                return self.months // 12, "esriTimeUnitsYears"
            return self.months, "esriTimeUnitsMonths"
        for size, unit in ((86400 * 7, "esriTimeUnitsWeeks"), (86400, "esriTimeUnitsDays"),
                           (3600, "esriTimeUnitsHours"), (60, "esriTimeUnitsMinutes"), (1, "esriTimeUnitsSeconds")):
            total = self.seconds + self.months * 30 * 86400
            if total >= size and total % size == 0:
                return total // size, unit
        return self.seconds * 1000, "esriTimeUnitsMilliseconds"


def parse_duration(text: str) -> Duration:
    """Parse an ISO 8601 duration such as ``P3M``, ``P1D`` or ``PT6H``."""
    match = _DURATION_RE.match(text.strip())
    if not match or text.strip() in ("P", "PT"):
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    g = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    months = int(g["Y"] * 12 + g["Mo"])
    seconds = g["W"] * 7 * 86400 + g["D"] * 86400 + g["H"] * 3600 + g["Mi"] * 60 + g["S"]
    return Duration(months, seconds)


@dataclass(frozen=True)
class TimeExtent:
    """A WMS time dimension: its overall start/end, an interval when regular, and its default value."""

    start: datetime
    end: datetime
    interval: Duration | None
    default: str | None
    values: tuple[datetime, ...]


def parse_time_dimension(text: str, default: str | None = None) -> TimeExtent:
    """Parse a WMS time extent: a comma list of instants and/or ``start/end/period`` ranges."""
    values: list[datetime] = []
    interval: Duration | None = None
    starts: list[datetime] = []
    ends: list[datetime] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        if "/" in item:
            pieces = [p.strip() for p in item.split("/")]
            start, end = parse_iso(pieces[0]), parse_iso(pieces[1])
            starts.append(start)
            ends.append(end)
            if len(pieces) > 2 and pieces[2]:
                interval = parse_duration(pieces[2])
                current, count = start, 0
                while current <= end and count < 10000:
                    values.append(current)
                    current, count = interval.add_to(current), count + 1
        else:
            instant = parse_iso(item)
            values.append(instant)
            starts.append(instant)
            ends.append(instant)
    if not starts:
        raise ValueError("empty time extent")
    return TimeExtent(min(starts), max(ends), interval, default.strip() if default else None, tuple(sorted(values)))
