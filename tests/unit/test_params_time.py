from datetime import UTC, datetime

import pytest

from translators.errors import InvalidParameter
from translators.params import Params, parse_bool, parse_float, parse_int, parse_json, parse_numbers
from translators.timeutil import (
    TimeRange,
    iso,
    parse_arcgis_time,
    parse_duration,
    parse_iso,
    parse_time_dimension,
    to_epoch_ms,
)


def test_params_are_case_insensitive_and_blank_is_absent() -> None:
    p = Params([("BBOX", "1,2,3,4"), ("Format", "PNG32"), ("size", "  "), ("bbox", "ignored")])
    assert p.get("bbox") == "1,2,3,4"
    assert p.get("FORMAT") == "PNG32"
    assert p.get("size") is None
    assert "size" not in p
    assert p.names() == {"bbox", "format"}


@pytest.mark.parametrize(("text", "value"), [("1", 1.0), ("-3.5", -3.5), ("1.39e-9", 1.39e-9), (" 2E3 ", 2000.0)])
def test_parse_float(text: str, value: float) -> None:
    assert parse_float(text, "x") == value


@pytest.mark.parametrize("text", ["abc", "nan", "inf", "", "1,5"])
def test_parse_float_rejects(text: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        parse_float(text, "dpi")
    assert "dpi" in info.value.message


@pytest.mark.parametrize(("text", "value"), [("True", True), ("FALSE", False), ("1", True), ("no", False)])
def test_parse_bool(text: str, value: bool) -> None:
    assert parse_bool(text, "transparent") is value


def test_bad_values_name_the_parameter() -> None:
    for call in (lambda: parse_bool("maybe", "transparent"), lambda: parse_int("4.5", "size"),
                 lambda: parse_json("{bad", "layerDefs"), lambda: parse_numbers("1,2,3", "bbox", 4)):
        with pytest.raises(InvalidParameter) as info:
            call()
        assert info.value.status == 400
        assert info.value.parameter in info.value.message


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("1199145600000", datetime(2008, 1, 1, tzinfo=UTC), datetime(2008, 1, 1, tzinfo=UTC)),
        ("1199145600000, 1230768000000", datetime(2008, 1, 1, tzinfo=UTC), datetime(2009, 1, 1, tzinfo=UTC)),
        ("null,1230768000000", None, datetime(2009, 1, 1, tzinfo=UTC)),
        ("1199145600000,null", datetime(2008, 1, 1, tzinfo=UTC), None),
    ],
)
def test_parse_arcgis_time(text: str, start: datetime | None, end: datetime | None) -> None:
    assert parse_arcgis_time(text) == TimeRange(start, end)


@pytest.mark.parametrize("text", ["null", "null,null", "abc", "1,2,3", "1230768000000,1199145600000"])
def test_parse_arcgis_time_rejects(text: str) -> None:
    with pytest.raises(InvalidParameter):
        parse_arcgis_time(text)


def test_iso_and_epoch_round_trip() -> None:
    value = datetime(2020, 4, 1, 12, 30, tzinfo=UTC)
    assert iso(value) == "2020-04-01T12:30:00Z"
    assert to_epoch_ms(value) == 1585744200000
    assert iso(parse_iso("2020-04-01T12:30:00.250Z")) == "2020-04-01T12:30:00.250Z"
    assert parse_iso("2020-04-01T14:30:00+02:00") == value.replace(hour=12)
    assert parse_iso("2020") == datetime(2020, 1, 1, tzinfo=UTC)


def test_time_dimension_ranges_and_lists() -> None:
    ext = parse_time_dimension("2020-01-01/2020-10-01/P3M", "2020-10-01")
    assert ext.start == datetime(2020, 1, 1, tzinfo=UTC)
    assert ext.end == datetime(2020, 10, 1, tzinfo=UTC)
    assert [v.month for v in ext.values] == [1, 4, 7, 10]
    assert ext.interval is not None and ext.interval.arcgis_interval() == (3, "esriTimeUnitsMonths")
    listed = parse_time_dimension(" 2020-03-05, 2020-01-02,2020-02-01")
    assert listed.start.month == 1 and listed.end.month == 3 and len(listed.values) == 3


@pytest.mark.parametrize(("text", "months", "seconds"), [("P1Y", 12, 0), ("P3M", 3, 0), ("P1D", 0, 86400),
                                                         ("PT6H", 0, 21600), ("P1DT1M", 0, 86460)])
def test_durations(text: str, months: int, seconds: float) -> None:
    d = parse_duration(text)
    assert (d.months, d.seconds) == (months, seconds)
