"""Pure, synchronous translation between ArcGIS REST requests/answers and OGC (WMS/WCS) requests/answers.

Nothing in this package does I/O or imports aiohttp: it is table-tested on its own.
"""
