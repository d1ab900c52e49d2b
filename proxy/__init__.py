"""The aiohttp shell of arcbridge: routes, middleware, HTTP client, caching and executors."""
