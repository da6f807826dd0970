"""The OpenAPI 3 description served at /openapi.json (also what schemathesis tests against)."""

_FILTERS = [
    {"name": name, "in": "query", "required": False, "description": description,
     "schema": {"type": "array", "items": {"type": kind}}, "style": "form", "explode": True}
    for name, kind, description in (
        ("city", "string", "City or county, short or full name; repeatable (OR)"),
        ("province", "string", "Province, short or full name; repeatable (OR)"),
        ("topic", "string", "Topic name or the alias 三献; repeatable (OR)"),
        ("year", "integer", "Report year; repeatable (OR)"),
    )
]
_ERROR = {"description": "Bad request", "content": {"application/json": {"schema": {
    "type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}}}}

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "rcsearch", "version": "1.0.0",
             "description": "Full-text search over Chinese Red Cross work reports."},
    "paths": {
        "/api/search": {"get": {
            "summary": "Search passages",
            "parameters": [
                {"name": "q", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 500}},
                *_FILTERS,
                {"name": "page", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1}},
                {"name": "limit", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                {"name": "sort", "in": "query", "required": False,
                 "schema": {"type": "string", "enum": ["relevance", "date"]}},
            ],
            "responses": {"200": {"description": "Results", "content": {"application/json": {"schema": {
                "type": "object",
                "required": ["query", "total", "total_reports", "page", "limit", "took_ms", "hits", "facets"],
                "properties": {"total": {"type": "integer"}, "hits": {"type": "array"},
                               "facets": {"type": "object"}}}}}},
                "400": _ERROR},
        }},
        "/api/suggest": {"get": {
            "summary": "Completions",
            "parameters": [{"name": "q", "in": "query", "required": False, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "Suggestions", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"suggestions": {"type": "array", "items": {"type": "string"}}}}}}}},
        }},
        "/api/documents/{doc_id}": {"get": {
            "summary": "One report",
            "parameters": [{"name": "doc_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "The report", "content": {"application/json": {
                "schema": {"type": "object"}}}}, "404": _ERROR},
        }},
        "/healthz": {"get": {"summary": "Health", "responses": {
            "200": {"description": "Serving", "content": {"application/json": {"schema": {"type": "object"}}}},
            "503": {"description": "No index", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    },
}
