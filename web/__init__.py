"""The Flask app: search page, document view, overview and JSON API over the engine."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from web import api, pages
from web.engine import init_app as init_engine

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def create_app(test_config: dict | None = None) -> Flask:
    """App factory: defaults, then RCSEARCH_* environment, then the caller's mapping."""
    app = Flask(__name__)
    app.config.from_mapping(
        INDEX_DIR=os.environ.get("RCSEARCH_INDEX", str(Path("index").resolve())),
        JSON_AS_ASCII=False,
    )
    if test_config:
        app.config.from_mapping(test_config)
    app.json.ensure_ascii = False
    init_engine(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)

    @app.after_request
    def secure(response):
        response.headers.update(SECURITY_HEADERS)
        return response

    return app
