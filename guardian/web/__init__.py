"""The HTTP API (aiohttp): `app.init_app()` builds it, one module per concept, every
`web.AppKey` in `keys`."""
