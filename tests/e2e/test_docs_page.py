"""The /docs page's answers: the page with a CSP that allows no inline script and nothing from
elsewhere; Swagger UI's files (from the swagger-ui-py package) and our starter script from our own
versioned URLs, cached for a year, gzipped when the client takes it."""
from __future__ import annotations

import gzip
import re
from pathlib import Path

from entrypoints.http.handlers import docs


async def test_the_page_names_only_our_own_files_and_allows_no_inline_script(api):
    resp, html = await api.call("GET", "/docs", expect=200)
    assert resp.content_type == "text/html" and resp.headers["Cache-Control"] == "no-cache"
    csp = dict(part.strip().split(" ", 1) for part in resp.headers["Content-Security-Policy"].split(";"))
    assert csp["default-src"] == "'none'" and csp["script-src"] == "'self'" and csp["connect-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and "unsafe" not in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Frame-Options"] == "DENY" and resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    text = html.decode()
    assert re.findall(r"<script[^>]*>", text) == [f'<script src="{docs.BUNDLE}">', f'<script src="{docs.START}">']
    assert "://" not in text  # no absolute URL: nothing from a CDN, nothing from another origin
    assert docs.BUNDLE.startswith("/docs/assets/swagger-ui-") and docs.START.startswith("/docs/assets/payport-")


async def test_the_assets_are_ours_cached_for_a_year_and_gzipped(api):
    for url, folder, content_type in ((docs.BUNDLE, docs.VENDOR, "text/javascript"),
                                      (docs.STYLES, docs.VENDOR, "text/css"),
                                      (docs.START, docs.OWN, "text/javascript"),
                                      (docs.ICON, docs.VENDOR, "image/png")):
        on_disk = (Path(folder) / url.rsplit("/", 1)[1]).read_bytes()
        resp = await api.client.get(url, headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
        assert resp.status == 200 and resp.content_type == content_type
        assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        body = await resp.read()
        if content_type == "image/png":
            assert "Content-Encoding" not in resp.headers and body == on_disk
        else:
            assert resp.headers["Content-Encoding"] == "gzip" and gzip.decompress(body) == on_disk
            assert resp.charset == "utf-8"
            assert len(body) < len(on_disk)
        plain = await api.client.get(url, headers={"Accept-Encoding": "identity"}, auto_decompress=False)
        assert "Content-Encoding" not in plain.headers and await plain.read() == on_disk
    bundle = (docs.VENDOR / "swagger-ui-bundle.js").read_bytes()
    assert b"SwaggerUIBundle" in bundle
