"""OGC requests (WMS, WCS) built from canonical queries, and backend answers parsed into models."""
