"""Entry points: the aiohttp app, the CLI and the background worker."""
