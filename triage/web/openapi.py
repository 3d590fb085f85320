"""The API's OpenAPI 3.1 description, written by hand: five routes do not need a
generator, and the report schema is CONTRACT.md §3 (extra keys may appear)."""

from __future__ import annotations

from typing import Any

__all__ = ["openapi_document"]

_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}

_REPORT: dict[str, Any] = {
    "type": "object",
    "description": "Exactly the JSON of `triage --format json` (schema 1, CONTRACT.md §3). Keys may be added.",
    "required": ["schema", "matches", "facts", "key_lines", "suggestions", "labels"],
    "properties": {
        "schema": {"type": "integer", "const": 1},
        "matches": {"type": "array", "items": {"type": "object", "properties": {
            "kb_id": {"type": "string"}, "title": {"type": "string"}, "confidence": {"type": "number"},
            "certainty": {"type": "string", "enum": ["confident", "possible"]},
            "root_cause": {"type": "string"}, "remedies": {"type": "array", "items": {"type": "string"}},
            "remedy_steps": {"type": "array", "items": {"type": "object", "properties": {
                "text": {"type": "string"}, "product": {"type": ["string", "null"]},
                "os": {"type": ["string", "null"]}}}},
            "affected": {"type": "array", "items": {"type": "object"}},
            "version_status": {"type": "string", "enum": ["affected", "fixed", "unknown"]},
            "evidence": {"type": "array", "items": {"type": "object", "properties": {
                "line": {"type": "integer"}, "text": {"type": "string"}, "signature": {"type": "string"}}}},
            "labels": {"type": "array", "items": {"type": "string"}},
            "references": {"type": "array", "items": {"type": "string"}},
        }}},
        "facts": {"type": "object"},
        "key_lines": {"type": "array", "items": {"type": "object", "properties": {
            "line": {"type": "integer"}, "text": {"type": "string"}}}},
        "suggestions": {"type": "array", "items": {"type": "object"}},
        "labels": {"type": "array", "items": {"type": "string"}},
        "completeness": {"type": "object", "properties": {"verdict": {"type": "string"}, "reason": {"type": "string"}}},
        "followup": {"type": "string"},
        "fingerprint": {"type": ["object", "null"]},
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def openapi_document(max_body_bytes: int) -> dict[str, Any]:
    limit = f"{max_body_bytes // (1024 * 1024)} MiB" if max_body_bytes >= 1024 * 1024 else f"{max_body_bytes} bytes"
    errors = {
        "408": _json(_ERROR, "The body did not arrive in time."),
        "413": _json(_ERROR, f"The body is larger than {limit}."),
        "422": _json(_ERROR, "Not a log: binary or empty input (the message says which)."),
        "429": {**_json(_ERROR, "Too many requests from this client; see the Retry-After header."),
                "headers": {"Retry-After": {"schema": {"type": "integer"}}}},
        "503": _json(_ERROR, "The analysis did not finish in time; retry later."),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "triage",
            "version": "1",
            "description": "Crash-log triage for llama.cpp and the runtimes built on it. Logs are analysed in "
                           "memory and never stored or logged; the output is redacted.",
        },
        "paths": {
            "/api/v1/triage": {"post": {
                "summary": "Analyse one log (raw body) or several (multipart files)",
                "requestBody": {"required": True, "content": {
                    "text/plain": {"schema": {"type": "string"}},
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                    "multipart/form-data": {"schema": {"type": "object", "properties": {
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                        "log": {"type": "string", "description": "a pasted log, reported as file \"pasted log\""},
                    }}},
                }},
                "responses": {
                    "200": {"description": "A raw body gives one report; multipart gives `{\"results\": [...]}`, "
                                           "one object per file in order, each the report plus `file`, or "
                                           "`{\"file\", \"error\"}` for a file that is not a log.",
                            "content": {"application/json": {"schema": {"oneOf": [
                                _REPORT,
                                {"type": "object", "required": ["results"], "properties": {"results": {
                                    "type": "array", "items": {"type": "object", "properties": {
                                        "file": {"type": "string"}, "error": {"type": "string"}}}}}},
                            ]}}}},
                    "400": _json(_ERROR, "A malformed multipart body."),
                    **errors,
                },
            }},
            "/api/v1/kb": {"get": {
                "summary": "List the KB entries, or search them with ?q=words (fuzzy)",
                "parameters": [{"name": "q", "in": "query", "required": False, "schema": {"type": "string"}}],
                "responses": {"200": _json({"type": "object", "properties": {
                    "entries": {"type": "array", "items": {"type": "object"}},
                    "results": {"type": "array", "items": {"type": "object"}}}},
                    "`entries` without q; `results` (id, title, score 0..1) with q.")},
            }},
            "/api/v1/kb/{id}": {"get": {
                "summary": "One KB entry as written: remedies per runtime, variants, affected versions, prose",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _json({"type": "object"}, "The entry."),
                              "404": _json(_ERROR, "No entry with that id.")},
            }},
            "/healthz": {"get": {
                "summary": "Liveness: the KB is loaded",
                "responses": {"200": _json({"type": "object", "properties": {"status": {"const": "ok"}}}, "Up.")},
            }},
        },
    }
