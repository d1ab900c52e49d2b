"""What the planners know of one map service, derived from the backend's capabilities and the configuration."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from translators.arcgis.layers import LayerTree
from translators.crs import SpatialRef, first_usable, resolve_sr, wgs84_bbox_to
from translators.errors import BackendError
from translators.limits import Limits
from translators.ogc.flavors import Flavor
from translators.ogc.wms import BBox, WmsCapabilities, union_bbox

WORLD = (-180.0, -90.0, 180.0, 90.0)


class MapServiceConfig(Protocol):
    """The configured part of a map service (the proxy's service settings provide it)."""

    @property
    def spatial_reference(self) -> int | str | None: ...  # noqa: D102
    @property
    def layers(self) -> Sequence[str] | None: ...  # noqa: D102
    @property
    def hidden_layers(self) -> Sequence[str]: ...  # noqa: D102
    @property
    def max_image_width(self) -> int: ...  # noqa: D102
    @property
    def max_image_height(self) -> int: ...  # noqa: D102


@dataclass(frozen=True)
class ServiceContext:
    """What the planner knows of one map service."""

    sr: SpatialRef
    tree: LayerTree
    caps: WmsCapabilities
    flavor: Flavor
    max_width: int
    max_height: int
    full_extent: BBox  # in ``sr``
    limits: Limits = field(default_factory=Limits)  # the work one request may cause (where-clause size)


def _service_sr(configured: int | str | None, caps: WmsCapabilities) -> SpatialRef:
    if configured is not None:
        return resolve_sr(configured, "spatialReference")
    sr = first_usable(caps.root.crs)
    if sr is None:
        raise BackendError("The backend's capabilities offer no usable spatial reference.")
    return sr


def build_context(config: MapServiceConfig, caps: WmsCapabilities, flavor: Flavor) -> ServiceContext:
    """Derive the map service (SR, layer ids, extent, limits) from the backend's capabilities."""
    sr = _service_sr(config.spatial_reference, caps)
    tree = LayerTree.build(caps, config.layers, config.hidden_layers, flavor.capabilities_top_first)
    boxes = [layer.wgs84_bbox for layer in tree.layers if layer.wgs84_bbox and layer.parent_id == -1]
    wgs84 = union_bbox([b for b in boxes if b]) or caps.root.wgs84_bbox or WORLD
    extent = wgs84_bbox_to(wgs84, sr) or wgs84_bbox_to(WORLD, sr)
    if extent is None:
        raise BackendError("The service extent cannot be expressed in the service's spatial reference.")
    max_width = min(config.max_image_width, caps.max_width or config.max_image_width)
    max_height = min(config.max_image_height, caps.max_height or config.max_image_height)
    return ServiceContext(sr=sr, tree=tree, caps=caps, flavor=flavor, max_width=max_width, max_height=max_height,
                          full_extent=extent)
