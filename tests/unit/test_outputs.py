import time

from proxy.outputs import OutputStore


def test_outputs_expire_and_are_bounded_in_bytes() -> None:
    store = OutputStore(ttl=0.3, max_bytes=1000)
    name = store.put(b"x" * 100, "image/png", "png")
    assert name.startswith("_ags_map") and name.endswith(".png")
    stored = store.get(name)
    assert stored is not None and stored.content_type == "image/png" and stored.body == b"x" * 100
    others = [store.put(b"y" * 300, "image/png", "png") for _ in range(5)]
    assert store.get(name) is None  # evicted: the store keeps at most 1000 bytes
    assert store.get(others[-1]) is not None
    time.sleep(0.35)
    assert store.get(others[-1]) is None  # expired
    assert store.get("_ags_mapunknown.png") is None
