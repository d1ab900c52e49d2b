"""Operating the gateway: health and readiness (:mod:`proxy.ops.health`), Prometheus metrics
(:mod:`proxy.ops.metrics`), the routes that serve them (:mod:`proxy.ops.endpoints`), and what a backend offers for
``init``, ``check-config --probe`` and the start-up checks of ``serve`` (:mod:`proxy.ops.probe`)."""
