"""Backend adapters: the HTTP client and the WMS (later WCS) protocol adapters."""
