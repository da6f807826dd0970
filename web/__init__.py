"""The Flask app: search page, document view, overview and JSON API over the engine."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, request
from markupsafe import escape
from werkzeug.exceptions import HTTPException, InternalServerError

from search.querylang import MAX_EXPORT_ROWS
from web import api, pages
from web.answers import Error
from web.engine import init_app as init_engine, unavailable_reason

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
        EXPORT_MAX_ROWS=MAX_EXPORT_ROWS,
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

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        """404, 405 … and the generic 500: JSON for the API, a plain page otherwise; never a traceback.

        An unexpected exception reaches this as a 500 after Flask has logged it
        with its traceback (app.logger); with TESTING on it propagates instead.
        """
        message = GENERIC_500 if isinstance(error, InternalServerError) else ERROR_MESSAGES.get(error.code, error.name)
        response = _error_response(app, error.code or 500, message)
        allow = dict(error.get_headers()).get("Allow")
        if allow:
            response.headers["Allow"] = allow
        return response

    @app.errorhandler(FileNotFoundError)
    def index_unavailable(error: FileNotFoundError):
        """No index, or one an older rcsearch built (OutdatedIndexError): 503 saying what to run."""
        return _error_response(app, 503, unavailable_reason(error))

    return app


def _error_response(app: Flask, status: int, message: str):
    """An error as JSON for the API, as a plain page otherwise."""
    if _is_api_path(request.path):
        return api.answer(Error(message), status)
    return app.response_class(ERROR_PAGE.format(code=status, message=escape(message)), status=status,
                              mimetype="text/html")


GENERIC_500 = "服务器内部错误，请稍后再试 (internal server error)"
ERROR_MESSAGES = {
    400: "请求无效 (bad request)",
    404: "没有这个页面 (not found)",
    405: "不支持这种请求方法 (method not allowed)",
}
ERROR_PAGE = ('<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{code} {message}</title>'
              '<link rel="stylesheet" href="/static/style.css"></head>'
              '<body><main><h1>{code}</h1><p>{message}</p><p><a href="/">返回搜索</a></p></main></body></html>')


def _is_api_path(path: str) -> bool:
    return path.startswith("/api/") or path in ("/api", "/openapi.json", "/healthz")
