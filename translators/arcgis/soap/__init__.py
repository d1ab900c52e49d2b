"""The SOAP front door of the MapServer (ArcGIS Server's ``/arcgis/services/…/MapServer``), pure.

:mod:`.xml` reads envelopes safely and writes answers; :mod:`.schema` is the one table of types behind both the
answers and :mod:`.wsdl`; :mod:`.mapserver` turns requests into the REST planners' parameters; :mod:`.answers`
builds the MapServer's answers; :mod:`.catalog` the service catalog's.
"""
