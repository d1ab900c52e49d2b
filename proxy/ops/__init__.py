"""Operating the gateway: health and readiness (:mod:`proxy.ops.health`), Prometheus metrics
(:mod:`proxy.ops.metrics`) and the routes that serve them (:mod:`proxy.ops.routes`)."""
