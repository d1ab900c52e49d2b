"""Parsing ArcGIS REST parameters into canonical queries and building ArcGIS JSON answers."""
