"""Pixel values of coverages: the raster model, rendering functions and encoders of the ImageServer."""
