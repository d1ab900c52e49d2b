"""Harness driving real ArcGIS browser clients (Esri Leaflet, OpenLayers) in headless Chromium.

* :mod:`.chromium` - launches ``/usr/bin/chromium`` and speaks the DevTools protocol over an aiohttp websocket.
* :mod:`.pages` - static server for ``tests/clients/web`` (HTML pages + node_modules) and URL builders for its pages.
* :mod:`.fixtures` - pytest fixtures ``chromium_process``, ``chromium`` and ``web_pages``.
"""
