"""Operating the gateway: what a backend offers (``init``), whether a configuration matches its backends
(``check-config --probe``, and the warnings of ``serve``), and the start-up summary of the services."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from lxml import etree

from proxy.backends.http import BackendClient
from proxy.settings import BackendSettings, ServiceSettings, Settings
from translators.arcgis.features import integer_attributes, oid_attribute
from translators.crs import resolve_sr
from translators.errors import ArcGISError
from translators.ogc.flavors import DEFAULT_FLAVOR, FLAVORS, guess_flavor
from translators.ogc.wcs import coverage_ids
from translators.ogc.wfs import FeatureType, describe_feature_type_params, feature_type
from translators.ogc.wms import WmsCapabilities, WmsLayer, parse_capabilities
from translators.ogc.wmts import WmtsCapabilities, choose_matrix_set, parse_wmts_capabilities
from translators.ogc.xml import exception_messages

log = logging.getLogger("arcbridge")
PROBE_TIMEOUT = 10.0


@dataclass
class Offer:
    """What one backend URL answered: its WMS layers (top first), WCS coverages and WFS feature types, and why
    a service type is missing (``problems``, by service kind)."""

    url: str
    flavor: str
    wms: WmsCapabilities | None = None
    layers: list[WmsLayer] = field(default_factory=list)  # the layers under the root, the top one first
    coverages: list[str] = field(default_factory=list)
    feature_types: list[str] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)  # "MapServer", "ImageServer", "WFS": why it is missing
    wfs_url: str | None = None  # where the WFS was asked (the URL itself unless given)
    described: dict[str, FeatureType | None] = field(default_factory=dict)  # types whose objectIdField is checked
    headers: tuple[tuple[str, str], ...] = ()  # the configured backend headers it was asked with
    wmts: dict[str, WmtsCapabilities | str] = field(default_factory=dict)  # by URL: capabilities, or why not

    def layer_names(self) -> set[str]:
        """Every named WMS layer, groups and sub-layers included."""
        names: set[str] = set()
        stack = [self.wms.root] if self.wms else []
        while stack:
            layer = stack.pop()
            if layer.name:
                names.add(layer.name)
            stack.extend(layer.children)
        return names


async def _get(client: BackendClient, params: dict[str, str], what: str) -> bytes:
    """One capabilities request; a failure is a ValueError naming what was asked and what came back."""
    try:
        response = await client.get(params)
    except ArcGISError as exc:
        raise ValueError(f"{what}: {exc.message} {'; '.join(exc.details)}".strip()) from None
    messages = exception_messages(response.body)
    if response.status != 200 or messages is not None:
        found = "; ".join(messages or []) or f"HTTP {response.status}, {response.body[:80]!r}"
        raise ValueError(f"{what}: {found}")
    return response.body


async def discover(url: str, flavor: str | None = None, wfs_url: str | None = None,
                   headers: tuple[tuple[str, str], ...] = ()) -> Offer:
    """Ask ``url`` for its WMS, WCS and WFS capabilities (each may be missing; the WFS at ``wfs_url`` when given),
    sending the configured ``headers`` (an API key); guess the flavour if not given."""
    settings = BackendSettings(url=url, flavor=flavor or DEFAULT_FLAVOR, timeout=PROBE_TIMEOUT,
                               connect_timeout=PROBE_TIMEOUT, headers=dict(headers))
    client = BackendClient(settings)
    wfs_client = BackendClient(replace(settings, url=wfs_url)) if wfs_url else client
    offer = Offer(url, flavor or DEFAULT_FLAVOR, wfs_url=wfs_url or url, headers=headers)
    try:
        try:
            xml = await _get(client, {"SERVICE": "WMS", "REQUEST": "GetCapabilities", "VERSION": "1.3.0"}, "WMS")
            offer.flavor = flavor or guess_flavor(xml)
            offer.wms = parse_capabilities(xml, "1.3.0", FLAVORS[offer.flavor].fix_group_extents)
            children = [c for c in offer.wms.root.children] if offer.wms.root.children else [offer.wms.root]
            offer.layers = children if FLAVORS[offer.flavor].capabilities_top_first else children[::-1]
        except (ValueError, ArcGISError) as exc:
            offer.problems["MapServer"] = str(exc)
        try:
            offer.coverages = coverage_ids(await _get(client, {"SERVICE": "WCS", "REQUEST": "GetCapabilities"},
                                                      "WCS"))[1]
        except (ValueError, ArcGISError) as exc:
            offer.problems["ImageServer"] = str(exc)
        try:
            offer.feature_types = await _feature_types(wfs_client)
        except ValueError as exc:
            offer.problems["WFS"] = str(exc)
    finally:
        await client.close()
        if wfs_client is not client:
            await wfs_client.close()
    return offer


async def _feature_types(client: BackendClient) -> list[str]:
    """The WFS feature type names at the client's URL; a ValueError saying why when it has no WFS (or none)."""
    try:
        xml = await _get(client, {"SERVICE": "WFS", "REQUEST": "GetCapabilities"}, "WFS")
        root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    except ArcGISError as exc:
        raise ValueError(f"WFS: {exc.message}") from None
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"WFS: not XML ({exc})") from None
    names = root.xpath("//*[local-name()='FeatureType']/*[local-name()='Name']/text()")
    found = [str(n).split(":")[-1] for n in names] if isinstance(names, list) else []
    if not found:
        raise ValueError("WFS: the capabilities list no feature type")
    return found


def _name_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_\-.]+", "_", text).strip("_") or "Service"


def _one_line(text: str) -> str:
    """Text for a YAML comment: a line break in it would end the comment and start YAML."""
    return " ".join(text.split())


def _q(text: str) -> str:
    """A YAML scalar (JSON strings are YAML)."""
    return json.dumps(text, ensure_ascii=False)


def render_config(offer: Offer, name: str) -> str:
    """A commented starting configuration for what ``offer`` found (see ``arcbridge init``)."""
    folder, _, short = name.rpartition("/")
    prefix = f"{folder}/" if folder else ""
    lines = [f"# arcbridge configuration generated by `arcbridge init --backend {offer.url}`.",
             "# Check it with `arcbridge check-config --config FILE --probe`; every key is described in the README.",
             "server:", "  host: 127.0.0.1", "  port: 8080", "", "services:"]
    if offer.wms is not None:
        lines += [f"  # WMS: {_one_line(offer.wms.title or 'untitled')}", f"  {name}:", "    type: MapServer"]
        lines += _wfs_lines(offer)
        lines += ["    # ArcGIS layer ids follow this list: id 0 is drawn on top (the groups' sub-layers follow them)",
                  "    layers:"]
        for layer in offer.layers:
            if layer.name:
                lines.append(f"      - {_q(layer.name)}  # {_one_line(layer.title or '')}".rstrip())
    else:
        lines.append(f"  # no WMS ({_one_line(offer.problems.get('MapServer', 'not found'))})")
    for coverage in offer.coverages:
        lines += [f"  {prefix}{_name_part(short + '_' + coverage)}:", "    type: ImageServer",
                  f"    backend: {{url: {_q(offer.url)}, flavor: {offer.flavor}}}", f"    coverage: {_q(coverage)}"]
    if not offer.coverages:
        lines.append(f"  # no WCS coverages ({_one_line(offer.problems.get('ImageServer', 'none offered'))})")
    return "\n".join(lines) + "\n"


def _wfs_lines(offer: Offer) -> list[str]:
    """The MapServer service's backend, with ``wfs`` where a WFS answered with feature types of its layers (they
    become feature layers answering query), and comments saying what was found."""
    backend = f"url: {_q(offer.url)}, flavor: {offer.flavor}"
    queryable = sorted(set(offer.feature_types) & offer.layer_names())
    if not queryable:
        why = _one_line(offer.problems.get("WFS") or
                        f"its feature types are no WMS layer: {', '.join(offer.feature_types)}")
        where = "at this URL" if offer.wfs_url == offer.url else f"at {offer.wfs_url}"
        return [f"    # no WFS {where} ({why}): the layers draw but do not answer query (backend.wfs: URL to add one)",
                f"    backend: {{{backend}}}"]
    wfs_url = offer.wfs_url or offer.url
    where = "the same URL" if wfs_url == offer.url else wfs_url
    lines = [f"    # WFS at {where}: layer query for {', '.join(queryable)}",
             f"    backend: {{{backend}, wfs: {_q(wfs_url)}}}"]
    others = sorted(set(offer.feature_types) - offer.layer_names())
    if others:
        lines.append(f"    # WFS feature types without a WMS layer of that name (not served): {', '.join(others)}")
    lines.append(f"    # objectIdField: {{{queryable[0]}: <an integer attribute>}}  # default: the number in the WFS "
                 f"feature ids ({queryable[0]}.3 -> 3)")
    return lines


async def probe(settings: Settings) -> list[str]:
    """What the configured services name that their backends lack, or backends that do not answer: one message per
    problem, naming the key and what the backend does offer."""
    return problems(settings, await offers(settings))


async def offers(settings: Settings) -> dict[str, Offer]:
    """What each service's backend offers, by service name (each backend asked once)."""
    keys = {name: (s.backend.url, s.backend.flavor, s.backend.wfs_url, tuple(sorted(s.backend.headers.items())))
            for name, s in settings.services.items()}
    unique = list(dict.fromkeys(keys.values()))
    found = await asyncio.gather(*(discover(*key) for key in unique))
    by_backend = dict(zip(unique, found, strict=True))
    offered = {name: by_backend[key] for name, key in keys.items()}
    wanted: dict[int, set[str]] = {}  # by id(offer): the feature types an objectIdField is to be checked in
    for name, service in settings.services.items():
        if service.type == "MapServer" and service.object_id_field is not None:
            wanted.setdefault(id(offered[name]), set()).update(_oid_types(service, offered[name]))
    await asyncio.gather(*(_describe(offer, wanted[id(offer)]) for offer in found if wanted.get(id(offer))),
                         *(_wmts(offered[name], service) for name, service in settings.services.items()
                           if service.tiles is not None and service.tiles.wmts is not None))
    return offered


async def _wmts(offer: Offer, service: ServiceSettings) -> None:
    """The capabilities of a tiled service's backend WMTS into ``offer.wmts`` (or why they could not be read)."""
    assert service.tiles is not None and service.tiles.wmts is not None
    url = service.tiles.wmts.url or service.backend.url
    if url in offer.wmts:
        return
    client = BackendClient(BackendSettings(url=url, flavor=offer.flavor, timeout=PROBE_TIMEOUT,
                                           connect_timeout=PROBE_TIMEOUT, headers=dict(service.backend.headers)))
    offer.wmts[url] = "not asked yet"  # another service of the same WMTS does not ask it again meanwhile
    try:
        if urlsplit(url).path.lower().endswith(".xml"):  # the RESTful capabilities document
            response = await client.get_url(url)
            if response.status != 200:
                raise ValueError(f"WMTS: HTTP {response.status}")
            body = response.body
        else:
            body = await _get(client, {"SERVICE": "WMTS", "REQUEST": "GetCapabilities", "VERSION": "1.0.0"}, "WMTS")
        offer.wmts[url] = parse_wmts_capabilities(body)
    except (ValueError, ArcGISError) as exc:
        offer.wmts[url] = exc.message if isinstance(exc, ArcGISError) else str(exc)
    finally:
        await client.close()


def _oid_types(service: ServiceSettings, offer: Offer) -> list[str]:
    """The feature types a service's ``objectIdField`` applies to, among those the WFS has."""
    setting = service.object_id_field
    names = offer.layer_names() if isinstance(setting, str) else {name for name, _ in setting or ()}
    return sorted(names & set(offer.feature_types))


async def _describe(offer: Offer, names: set[str]) -> None:
    """The WFS descriptions of ``names`` into ``offer.described`` (None: the WFS did not describe it)."""
    client = BackendClient(BackendSettings(url=offer.wfs_url or offer.url, flavor=offer.flavor, timeout=PROBE_TIMEOUT,
                                           connect_timeout=PROBE_TIMEOUT, headers=dict(offer.headers)))
    try:
        for name in sorted(names):
            try:
                offer.described[name] = feature_type(
                    await _get(client, describe_feature_type_params(name), "WFS DescribeFeatureType"), name)
            except (ValueError, ArcGISError):
                offer.described[name] = None
    finally:
        await client.close()


def problems(settings: Settings, offered: dict[str, Offer]) -> list[str]:
    """The messages of :func:`probe` for what was found."""
    problems: list[str] = []
    for name, service in settings.services.items():
        offer = offered[name]
        key = f"services.{service.name}"
        if service.type in offer.problems:
            problems.append(f"{key}.backend.url: {service.backend.url} did not answer as expected "
                            f"({offer.problems[service.type]})")
            continue
        if service.type == "MapServer":
            problems += _unknown(f"{key}.layers", service.layers or (), offer.layer_names())
            problems += _unknown(f"{key}.hiddenLayers", service.hidden_layers, offer.layer_names())
            problems += _wfs_problems(service, offer)
            problems += _wmts_problems(service, offer)
        else:
            wanted = ((service.coverage,) if service.coverage else ()) + tuple(c for _, c in service.coverages)
            problems += _unknown(f"{key}.coverage", wanted, set(offer.coverages))
            if service.preview_layer and offer.wms is not None:
                problems += _unknown(f"{key}.previewLayer", (service.preview_layer,), offer.layer_names())
    return problems


def _wmts_problems(service: ServiceSettings, offer: Offer) -> list[str]:
    """A ``tiles.wmts`` whose WMTS does not answer, lacks the layer or matrix set, or has no matrix set that matches
    the grid (every tile would then be drawn from the WMS)."""
    if service.tiles is None or service.tiles.wmts is None:
        return []
    wmts, key = service.tiles.wmts, f"services.{service.name}.tiles.wmts"
    caps = offer.wmts.get(wmts.url or service.backend.url)
    if caps is None:
        return []
    if isinstance(caps, str):
        where = f"{key}.url: {wmts.url}" if wmts.url else f"services.{service.name}.backend.url: {service.backend.url}"
        return [f"{where} did not answer as a WMTS ({caps})"]
    layer = caps.layers.get(wmts.layer)
    if layer is None:
        return _unknown(f"{key}.layer", [wmts.layer], set(caps.layers), "the backend's WMTS offers")
    if wmts.matrix_set is not None and wmts.matrix_set not in layer.matrix_sets:
        return _unknown(f"{key}.matrixSet", [wmts.matrix_set], set(layer.matrix_sets), f"layer {wmts.layer} has")
    grid = service.tiles.scheme.grid
    if choose_matrix_set(caps, wmts.layer, grid, resolve_sr(grid.wkid, "spatialReference"), wmts.matrix_set) is None:
        return [f"{key}: no matrix set of layer {wmts.layer} ({', '.join(layer.matrix_sets)}) matches the tile grid: "
                "every tile would be drawn from the WMS"]
    return []


def _wfs_problems(service: ServiceSettings, offer: Offer) -> list[str]:
    """A configured ``backend.wfs`` that is no WFS, and the feature types ``objectIdField`` names that the WFS does
    not have (a WMS-only server without ``objectIdField`` is fine: its layers only draw)."""
    key = f"services.{service.name}"
    why = offer.problems.get("WFS")
    if why is not None and service.backend.wfs_url:
        return [f"{key}.backend.wfs: {service.backend.wfs_url} did not answer as expected ({why})"]
    if service.object_id_field is None:
        return []
    if why is not None:
        return [f"{key}.objectIdField: the backend has no WFS at {offer.wfs_url} ({why})"]
    if isinstance(service.object_id_field, str):
        return _oid_attribute_problems(service, offer)
    return _unknown(f"{key}.objectIdField", [name for name, _ in service.object_id_field], set(offer.feature_types),
                    "the backend's WFS offers") + _oid_attribute_problems(service, offer)


def _oid_attribute_problems(service: ServiceSettings, offer: Offer) -> list[str]:
    """An ``objectIdField`` attribute that is no integer attribute of its feature type (the gateway would fall back
    on the feature ids without a word): per layer for a mapping; for one name, when no feature type has it."""
    key = f"services.{service.name}.objectIdField"
    setting = service.object_id_field
    pairs = [(name, setting) for name in _oid_types(service, offer)] if isinstance(setting, str) \
        else list(setting or ())
    described = {name: offer.described.get(name) for name, _ in pairs}
    bad = [(name, attribute) for name, attribute in pairs
           if (found := described[name]) is not None and oid_attribute(found, attribute) is None]
    if isinstance(setting, str):
        if not bad or len(bad) < len([d for d in described.values() if d is not None]):
            return []
        return [f"{key}: {setting} is an integer attribute of no feature type of the backend's WFS "
                f"({_integers(described)})"]
    return [f"{key}.{name}: {attribute} is not an integer attribute of {name} "
            f"({_integers({name: described[name]})}): the feature ids would give the object ids"
            for name, attribute in bad]


def _integers(described: dict[str, FeatureType | None]) -> str:
    listed = [f"{name}: {', '.join(integer_attributes(found)) or 'none'}" for name, found in described.items()
              if found is not None]
    return "integer attributes " + "; ".join(listed)


def _unknown(key: str, wanted: Sequence[str], known: set[str], offers: str = "the backend offers") -> list[str]:
    missing = [w for w in wanted if w not in known]
    if not missing:
        return []
    offered = ", ".join(sorted(known)[:50]) or "none"
    return [f"{key}: unknown {', '.join(missing)} ({offers}: {offered})"]


def summary(settings: Settings, offered: dict[str, Offer] | None = None) -> list[str]:
    """The start-up log's lines: each service, its backend and its layers (configured, else those the backend
    offers when ``offered`` is known) or coverages."""
    lines = []
    for name, service in settings.services.items():
        offer = (offered or {}).get(name)
        found = [layer.name for layer in offer.layers if layer.name] if offer is not None else []
        every = f"every layer of the capabilities ({', '.join(found)})" if found else "every layer of the capabilities"
        what = (f"layers {', '.join(service.layers)}" if service.layers else every) \
            if service.type == "MapServer" else \
            f"coverage {service.coverage or ', '.join(c for _, c in service.coverages)}"
        lines.append(f"service {service.name} ({service.type}) from {service.backend.url} "
                     f"[{service.backend.flavor}]: {what}")
    return lines
