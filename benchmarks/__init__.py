"""Side-by-side benchmarks of arcbridge against the real MapServer backend: ``bash scripts/bench.sh``."""
