"""Time on a map service: ``time`` + ``timeRelation`` → each layer's effective WMS time, and the GetMap groups.

WMS has closed ranges and one ``TIME`` per GetMap, ArcGIS has open ends, relations that exclude end points, and per
layer offsets (``layerTimeOptions``).  Layers needing different times are drawn by separate GetMaps (composited).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from translators.arcgis.layer_selection import LayerSelection, LayerTime
from translators.arcgis.layers import LayerTree, MapLayer
from translators.errors import InvalidParameter
from translators.params import Params, parse_choice
from translators.timeutil import Duration, TimeRange, parse_arcgis_time

TIME_RELATIONS = (
    "esriTimeRelationOverlaps",
    "esriTimeRelationOverlapsStartWithinEnd",
    "esriTimeRelationAfterStartOverlapsEnd",
    "esriTimeRelationWithin",
)

TimeGroup = tuple[TimeRange | None, list[MapLayer]]  # one GetMap: its TIME and its layers, bottom first


def requested_time(params: Params) -> TimeRange | None:
    """``time`` with ``timeRelation`` applied (None: no time asked)."""
    text = params.get("time")
    time = parse_arcgis_time(text) if text else None
    relation = parse_choice(params.get("timeRelation") or TIME_RELATIONS[0], "timeRelation", TIME_RELATIONS)
    return apply_relation(time, relation) if time is not None else None


def apply_relation(time: TimeRange, relation: str) -> TimeRange:
    """Express a relation that excludes an end point on a closed WMS range."""
    # Excluding an end point is expressed by moving it by one millisecond, exact for the instant-valued time
    # dimensions WMS servers publish.
    eps = timedelta(milliseconds=1)
    start, end = time.start, time.end
    if time.is_instant or relation == "esriTimeRelationOverlaps":
        return time
    if relation in ("esriTimeRelationOverlapsStartWithinEnd", "esriTimeRelationWithin") and end is not None:
        end = end - eps
    if relation in ("esriTimeRelationAfterStartOverlapsEnd", "esriTimeRelationWithin") and start is not None:
        start = start + eps
    if start is not None and end is not None and start > end:
        raise InvalidParameter("timeRelation", "the time extent is empty under this relation")
    return TimeRange(start, end)


def _shift(value: datetime | None, option: LayerTime) -> datetime | None:
    if value is None:
        return None
    # A layer offset by +1 year shows data from one year *before* the requested time on top of it.
    try:
        return Duration(-option.offset_months, -option.offset_ms / 1000).add_to(value)
    except (ValueError, OverflowError):  # before year 1 or after 9999
        raise InvalidParameter("layerTimeOptions", "the time offset moves the time out of range") from None


def close_range(time: TimeRange, layers: Sequence[MapLayer]) -> TimeRange:
    """Fill an open end with the layers' own time bounds (WMS has no open ranges)."""
    starts = [layer.time.start for layer in layers if layer.time]
    ends = [layer.time.end for layer in layers if layer.time]
    start = time.start or (min(starts) if starts else datetime(1, 1, 1, tzinfo=UTC))
    end = time.end or (max(ends) if ends else datetime(9999, 12, 31, tzinfo=UTC))
    if start > end:
        start = end
    return TimeRange(start, end)


def layer_time(layer: MapLayer, time: TimeRange | None, option: LayerTime) -> TimeRange | None:
    """The WMS time a time-aware layer is drawn at (None: no TIME sent)."""
    assert layer.time is not None
    if time is None:
        if layer.time.default:
            return None
        # No time asked and no default published: draw the layer's whole time extent, as ArcGIS draws all features
        # of a time-aware layer when no time is given (MapServer refuses a GetMap without TIME).
        return TimeRange(layer.time.start, layer.time.end)
    if not option.use_time:
        return None
    start = None if option.cumulative else _shift(time.start, option)
    return close_range(TimeRange(start, _shift(time.end, option)), [layer])


def _overlaps(time: TimeRange, layer: MapLayer) -> bool:
    """Whether a closed ``time`` meets the layer's own time extent."""
    assert layer.time is not None and time.start is not None and time.end is not None
    return time.start <= layer.time.end and time.end >= layer.time.start


def time_groups(selection: LayerSelection, tree: LayerTree, time: TimeRange | None) -> list[TimeGroup]:
    """Group consecutive layers (bottom first) that share an effective time into one GetMap each; a layer without a
    time dimension ignores TIME and joins whichever group it is next to."""
    groups: list[TimeGroup] = []
    timed: list[bool] = []
    for layer in selection.leaves:
        if layer.time is None:
            if groups:
                groups[-1][1].append(layer)
            else:
                groups.append((None, [layer]))
                timed.append(False)
            continue
        effective = layer_time(layer, time, selection.time_option(tree, layer))
        if effective is not None and not _overlaps(effective, layer):
            continue  # nothing of the layer exists then: left out (the backend refuses a TIME outside its extent)
        if groups and (not timed[-1] or groups[-1][0] == effective):
            groups[-1] = (effective, [*groups[-1][1], layer])
            timed[-1] = True
        else:
            groups.append((effective, [layer]))
            timed.append(True)
    return groups
