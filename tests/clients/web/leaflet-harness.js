/*
 * Shared set-up of the Leaflet pages: the map (filling the viewport, fitted to ?bbox= in the map CRS's units or
 * ?lonlat=west,south,east,north) and the wiring of an Esri Leaflet raster layer to window.__loaded / __error.
 */
(function () {
  'use strict';
  var h = window.harness;

  function crsFor(code) {
    code = String(code || '3857').replace(/^EPSG:/i, '');
    if (code === '3857' || code === '102100' || code === '900913') return L.CRS.EPSG3857;
    if (code === '4326') return L.CRS.EPSG4326;
    if (code === '3395') return L.CRS.EPSG3395;
    throw new Error('Leaflet pages support crs 3857, 4326 and 3395, not ' + code);
  }

  function updateBounds(map) {
    var crs = map.options.crs;
    var pixels = map.getPixelBounds();
    var size = map.getSize();
    var sw = map.unproject(pixels.getBottomLeft());
    var ne = map.unproject(pixels.getTopRight());
    var a = crs.project(sw);
    var b = crs.project(ne);
    var ma = L.CRS.EPSG3857.project(sw);
    var mb = L.CRS.EPSG3857.project(ne);
    window.__bounds = {
      crs: crs.code,
      xmin: a.x, ymin: a.y, xmax: b.x, ymax: b.y,
      west: sw.lng, south: sw.lat, east: ne.lng, north: ne.lat,
      mercator: { xmin: ma.x, ymin: ma.y, xmax: mb.x, ymax: mb.y },
      width: size.x, height: size.y,
      zoom: map.getZoom(),
      pixelOrigin: { x: pixels.min.x, y: pixels.min.y }
    };
  }

  function createMap() {
    var crs = crsFor(h.str('crs', '3857'));
    var bounds;
    var bbox = h.numbers('bbox', 4);
    if (bbox) {
      bounds = L.latLngBounds(crs.unproject(L.point(bbox[0], bbox[1])), crs.unproject(L.point(bbox[2], bbox[3])));
    } else {
      var ll = h.numbers('lonlat', 4);
      if (!ll) throw new Error('give bbox=xmin,ymin,xmax,ymax (map CRS units) or lonlat=west,south,east,north');
      bounds = L.latLngBounds(L.latLng(ll[1], ll[0]), L.latLng(ll[3], ll[2]));
    }
    var map = L.map('map', {
      crs: crs,
      zoomControl: false,
      attributionControl: false,
      zoomSnap: 0,
      zoomAnimation: false,
      fadeAnimation: false,
      markerZoomAnimation: false,
      inertia: false,
      minZoom: -20,
      maxZoom: 40
    });
    map.on('movestart zoomstart', function () { window.__loaded = false; });
    map.on('moveend zoomend resize viewreset', function () { updateBounds(map); });
    map.fitBounds(bounds, { animate: false, padding: [0, 0] });
    updateBounds(map);
    window.__map = map;
    return map;
  }

  /* Options common to dynamicMapLayer / imageMapLayer taken from the query string. */
  function layerOptions(defaults) {
    var options = Object.assign({ url: h.required('service') }, defaults);
    var f = h.str('f', null);
    if (f) options.f = f;
    var format = h.str('format', null);
    if (format) options.format = format;
    options.transparent = h.bool('transparent', true);
    options.opacity = h.num('opacity', 1);
    var token = h.str('token', null);
    if (token) options.token = token;
    var extra = h.extraParams();
    if (Object.keys(extra).length) options.requestParams = extra;
    return options;
  }

  function watchLayer(map, layer) {
    layer.on('loading', function (e) {
      window.__loaded = false;
      h.event('loading', e.bounds.toBBoxString());
    });
    layer.on('load', function (e) {
      window.__loads += 1;
      var current = e.bounds.equals(map.getBounds());
      h.event('load', { bounds: e.bounds.toBBoxString(), current: current });
      if (current) h.afterFrames(2, function () { window.__loaded = true; });
    });
    layer.on('requesterror', function (e) {
      h.fail('requesterror ' + (e.code === undefined ? '' : e.code) + ': ' + e.message + ' (' + e.url + ')');
    });
    layer.on('error', function () { h.fail('image failed to load (see page.requests / console)'); });
    layer.on('authenticationrequired', function () { h.fail('authenticationrequired'); });
    window.__layer = layer;
    layer.addTo(map);
  }

  window.harnessLeaflet = { crsFor: crsFor, createMap: createMap, layerOptions: layerOptions, watchLayer: watchLayer };
})();
