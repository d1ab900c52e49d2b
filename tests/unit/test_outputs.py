import asyncio

from proxy.outputs import OutputStore


async def test_outputs_expire_and_are_bounded_in_bytes() -> None:
    store = OutputStore(ttl=0.3, max_bytes=1000)
    name = await store.put(b"x" * 100, "image/png", "png")
    assert name.startswith("_ags_map") and name.endswith(".png")
    stored = await store.get(name)
    assert stored is not None and stored.content_type == "image/png" and stored.body == b"x" * 100
    others = [await store.put(b"y" * 300, "image/png", "png") for _ in range(5)]
    assert await store.get(name) is None  # evicted: the store keeps at most 1000 bytes
    assert await store.get(others[-1]) is not None
    await asyncio.sleep(0.35)
    assert await store.get(others[-1]) is None  # expired
    assert await store.get("_ags_mapunknown.png") is None
