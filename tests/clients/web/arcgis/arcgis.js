// The ArcGIS Maps SDK for JavaScript modules the arcgis-view.html page uses, bundled by esbuild into build/
// (scripts/install-arcgis-js.sh) and published as window.arcgis; the page sets esriConfig.assetsPath before.
import esriConfig from '@arcgis/core/config.js';
import EsriMap from '@arcgis/core/Map.js';
import MapView from '@arcgis/core/views/MapView.js';
import TileLayer from '@arcgis/core/layers/TileLayer.js';
import MapImageLayer from '@arcgis/core/layers/MapImageLayer.js';
import * as reactiveUtils from '@arcgis/core/core/reactiveUtils.js';

window.arcgis = { esriConfig, Map: EsriMap, MapView, TileLayer, MapImageLayer, reactiveUtils };
