"""Browser fixtures for the client tests (the harness lives in tests/clients/harness/)."""

from tests.clients.harness.fixtures import chromium, chromium_process, web_pages

__all__ = ["chromium", "chromium_process", "web_pages"]
