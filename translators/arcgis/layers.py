"""The ArcGIS layer model of a map service built from WMS capabilities, and the ``layers`` parameter semantics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from translators.errors import BackendError, InvalidParameter, NotFound
from translators.ogc.wms import BBox, WmsCapabilities, WmsLayer
from translators.timeutil import TimeExtent


@dataclass(frozen=True)
class MapLayer:
    """One ArcGIS layer (id, parent, sub-layers) backed by one WMS layer."""

    id: int
    wms: WmsLayer
    parent_id: int
    sub_ids: tuple[int, ...]
    default_visibility: bool
    draw_rank: int  # 0 draws at the bottom

    @property
    def name(self) -> str:
        """The layer's display name: its WMS name, or its title for an unnamed group."""
        return self.wms.name or self.wms.title

    @property
    def is_group(self) -> bool:
        """True for a layer with sub-layers."""
        return bool(self.sub_ids)

    @property
    def time(self) -> TimeExtent | None:
        """The layer's time extent, or the union of its sub-layers' (filled in by :class:`LayerTree`)."""
        return self.wms.time

    @property
    def wgs84_bbox(self) -> BBox | None:
        """The layer's extent in WGS 84."""
        return self.wms.wgs84_bbox


class LayerTree:
    """The layers of one map service with ArcGIS ids, parents, drawing order and visibility rules."""

    def __init__(self, layers: Sequence[MapLayer]) -> None:
        self.layers = list(layers)
        self.by_id = {layer.id: layer for layer in self.layers}

    @classmethod
    def build(
        cls,
        caps: WmsCapabilities,
        configured: Sequence[str] | None,
        hidden: Sequence[str] = (),
        top_first: bool = False,
    ) -> LayerTree:
        """Number the layers as ArcGIS does: in drawing order, top first, at every level (a lower id draws above a
        higher one, and a group's sub-layers follow it).  The configured WMS names get ids 0..n-1 in that order (the
        configured list is read top first, like an ArcGIS table of contents) and their sub-layers follow; by
        default every layer under the root, the document read as ``top_first`` says (a flavour's or the
        configuration's ``capabilitiesOrder``).
        """
        entries = _configured_entries(caps, configured, top_first) if configured else _document_entries(caps, top_first)
        children: dict[int, list[int]] = {}
        for index, (_, parent) in enumerate(entries):
            children.setdefault(parent, []).append(index)
        rank = _draw_ranks(children)
        hidden_set = set(hidden)
        layers = [
            MapLayer(
                id=index,
                wms=layer,
                parent_id=parent,
                sub_ids=tuple(children.get(index, [])),
                default_visibility=(layer.name or layer.title) not in hidden_set,
                draw_rank=rank[index],
            )
            for index, (layer, parent) in enumerate(entries)
        ]
        return cls(layers)

    def get(self, layer_id: int) -> MapLayer:
        """Return the layer with that id or raise :class:`NotFound`."""
        try:
            return self.by_id[layer_id]
        except KeyError:
            raise NotFound(f"Layer {layer_id} does not exist in this service.") from None

    def descendants(self, layer_id: int) -> list[int]:
        """Return the ids below a layer, depth first."""
        out: list[int] = []
        for sub in self.by_id[layer_id].sub_ids:
            out.append(sub)
            out.extend(self.descendants(sub))
        return out

    def ancestors(self, layer_id: int) -> list[int]:
        """Return the ids above a layer, nearest first."""
        out: list[int] = []
        current = self.by_id.get(self.by_id[layer_id].parent_id)
        while current is not None:
            out.append(current.id)
            current = self.by_id.get(current.parent_id)
        return out

    def default_visible(self) -> set[int]:
        """Ids drawn when the client says nothing: default-visible layers whose ancestors are all visible."""
        visible: set[int] = set()
        for layer in self.layers:
            current: MapLayer | None = layer
            ok = True
            while current is not None:
                if not current.default_visibility:
                    ok = False
                    break
                current = self.by_id.get(current.parent_id)
            if ok:
                visible.add(layer.id)
        return visible

    def _expand(self, ids: Sequence[int]) -> set[int]:
        out: set[int] = set()
        for layer_id in ids:
            out.add(layer_id)
            out.update(d for d in self.descendants(layer_id) if self.by_id[d].default_visibility)
        return out

    def _collapse(self, ids: Sequence[int]) -> set[int]:
        out: set[int] = set()
        for layer_id in ids:
            out.add(layer_id)
            out.update(self.descendants(layer_id))
        return out

    def select(self, spec: str | None, parameter: str = "layers") -> set[int]:
        """Apply ``show | hide | include | exclude : ids`` to the default visibility, with group semantics:
        naming a group shows (or removes) its sub-layers that draw by default."""
        if spec is None:
            return self.default_visible()
        mode, sep, rest = spec.partition(":")
        mode = mode.strip().lower()
        if not sep or mode not in ("show", "hide", "include", "exclude"):
            raise InvalidParameter(parameter, f"expected '[show | hide | include | exclude]:id1,id2', got '{spec}'")
        ids: list[int] = []
        for part in rest.split(","):
            part = part.strip()
            if not part:
                continue
            try:
                layer_id = int(part)
            except ValueError:
                raise InvalidParameter(parameter, f"'{part}' is not a layer id") from None
            if layer_id not in self.by_id:
                raise InvalidParameter(parameter, f"layer {layer_id} does not exist in this service")
            ids.append(layer_id)
        if mode == "show":
            return self._expand(ids)
        if mode == "hide":
            return set(self.by_id) - self._collapse(ids)
        if mode == "include":
            return self.default_visible() | self._expand(ids)
        return self.default_visible() - self._collapse(ids)

    def drawn_leaves(self, visible: set[int]) -> list[MapLayer]:
        """The requestable layers to draw, bottom first: visible leaves with a WMS name."""
        leaves = [self.by_id[i] for i in visible if not self.by_id[i].sub_ids and self.by_id[i].wms.name]
        return sorted(leaves, key=lambda layer: layer.draw_rank)


Entries = list[tuple[WmsLayer, int]]  # (WMS layer, parent index) in ArcGIS id order


def _top_first(layers: Sequence[WmsLayer], top_first: bool) -> Sequence[WmsLayer]:
    """Sibling layers of a capabilities document, top first."""
    return layers if top_first else list(reversed(layers))


def _configured_entries(caps: WmsCapabilities, configured: Sequence[str], top_first: bool) -> Entries:
    """The configured layers (ids 0..n-1), then their sub-layers breadth first, each level top first."""
    entries: Entries = []
    seen: set[str] = set()
    for name in configured:
        layer = caps.layer(name)
        if layer is None:
            raise BackendError(f"Layer '{name}' configured for this service is not in the backend's "
                               "capabilities.")
        if name in seen:
            raise BackendError(f"Layer '{name}' is configured twice.")
        seen.add(name)
        entries.append((layer, -1))
    queue = list(range(len(entries)))
    for index in queue:
        layer = entries[index][0]
        for child in _top_first(layer.children, top_first):
            entries.append((child, index))
            queue.append(len(entries) - 1)
    return entries


def _document_entries(caps: WmsCapabilities, top_first: bool) -> Entries:
    """Every layer under the root, depth first, each level top first; a lone root layer is the only one."""
    entries: Entries = []

    def visit(layer: WmsLayer, parent: int) -> None:
        for child in _top_first(layer.children, top_first):
            entries.append((child, parent))
            visit(child, len(entries) - 1)

    if caps.root.name is None or caps.root.children:
        visit(caps.root, -1)
    if not entries:
        entries.append((caps.root, -1))
    return entries


def _draw_ranks(children: dict[int, list[int]]) -> dict[int, int]:
    """Drawing rank (0 at the bottom) of each entry, whose siblings are listed top first: a depth-first walk with
    each level read bottom first, a group's sub-layers drawn where the group is."""
    order: list[int] = []

    def walk(parent: int) -> None:
        for index in reversed(children.get(parent, [])):
            order.append(index)
            walk(index)

    walk(-1)
    return {index: position for position, index in enumerate(order)}
