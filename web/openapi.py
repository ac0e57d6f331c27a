"""The OpenAPI 3.1 document of API v1, served at /api/v1/openapi.json."""

from __future__ import annotations

from flask import jsonify

from web.api import bp

_ERROR = {"$ref": "#/components/schemas/Error"}
_NULLABLE_STR = {"type": ["string", "null"]}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}


def _error_responses(*codes: int) -> dict:
    return {str(c): {"description": "error", "content": {"application/json": {"schema": _ERROR}}}
            for c in codes}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}

_HISTOGRAM = {"type": "object", "required": ["edges", "counts"],
              "properties": {"edges": {"type": "array", "items": {"type": "number"}},
                             "counts": {"type": "array", "items": {"type": "integer"}}}}
_MODEL_SUMMARY = {
    "type": "object", "required": ["predicted", "top_labels", "histogram"],
    "properties": {
        "predicted": {"type": "integer"},
        "mean_confidence": {"type": ["number", "null"]},
        "top_labels": {"type": "array", "items": {
            "type": "object", "required": ["index", "wnid", "label", "count"],
            "properties": {"index": {"type": "integer"}, "wnid": {"type": "string"},
                           "label": {"type": "string"}, "count": {"type": "integer"}}}},
        "histogram": _HISTOGRAM,
    },
}

SCHEMAS = {
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["code", "message"],
                                 "properties": {"code": {"type": "string"},
                                                "message": {"type": "string"}}}},
    },
    "Job": {
        "type": "object",
        "required": ["id", "status", "models", "top_k", "counts", "progress", "weights",
                     "created_at", "finished_at", "links"],
        "properties": {
            "id": {"type": "string"},
            "status": {"enum": ["queued", "running", "succeeded", "completed_with_errors",
                                "failed", "cancelled"]},
            "models": {"type": "array", "items": {"type": "string"}},
            "top_k": {"type": "integer"},
            "counts": {"type": "object", "required": ["images", "done", "failed"],
                       "properties": {k: {"type": "integer"}
                                      for k in ("images", "done", "failed", "cancelled")}},
            "progress": {"type": "object", "additionalProperties": {
                "type": "object", "required": ["done", "total"],
                "properties": {k: {"type": "integer"} for k in ("done", "failed", "total")}}},
            "weights": {"type": "object", "additionalProperties": _NULLABLE_STR},
            "random_weights": {"type": "boolean"},
            "error": _NULLABLE_STR,
            "created_at": {"type": "string", "format": "date-time"},
            "started_at": _NULLABLE_TIME,
            "finished_at": _NULLABLE_TIME,
            "links": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
    "Label": {
        "type": "object", "required": ["rank", "index", "wnid", "label", "score"],
        "properties": {"rank": {"type": "integer"}, "index": {"type": "integer"},
                       "wnid": {"type": "string"}, "label": {"type": "string"},
                       "score": {"type": "number"}},
    },
    "Summary": {
        "type": "object", "required": ["job", "models", "agreement", "per_model", "status"],
        "properties": {
            "job": {"type": "string"}, "status": {"type": "string"},
            "models": {"type": "array", "items": {"type": "string"}},
            "agreement": {"type": ["object", "null"], "properties": {
                "compared": {"type": "integer"}, "top1_same": {"type": "integer"},
                "top1_rate": {"type": ["number", "null"]},
                "mean_overlap": {"type": ["number", "null"]},
                "overlap": {"type": "object", "additionalProperties": {"type": "integer"}}}},
            "per_model": {"type": "object", "additionalProperties": _MODEL_SUMMARY},
            "counts": {"type": "object"},
            "weights": {"type": "object", "additionalProperties": _NULLABLE_STR},
            "random_weights": {"type": "boolean"},
        },
    },
    "ResultItem": {
        "type": "object", "required": ["image", "predictions", "agreement"],
        "properties": {
            "image": {"type": "object",
                      "required": ["id", "ordinal", "filename", "status", "error"],
                      "properties": {"id": {"type": "integer"}, "ordinal": {"type": "integer"},
                                     "filename": {"type": "string"},
                                     "status": {"enum": ["queued", "done", "failed",
                                                         "cancelled"]},
                                     "error": _NULLABLE_STR}},
            "predictions": {"type": "object", "additionalProperties": {
                "type": "array", "items": {"$ref": "#/components/schemas/Label"}}},
            "agreement": {"type": ["object", "null"]},
        },
    },
}

def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "schema": schema, "description": description}


RESULT_PARAMETERS = [
    _query("after", {"type": "integer"}, "upload order only: items with an ordinal above this"),
    _query("cursor", {"type": "string"}, "opaque: where a sorted page starts (from `next`)"),
    _query("before", {"type": "string"}, "opaque: the page that ends before this item"),
    _query("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "items per page"),
    _query("filter", {"enum": ["disagree", "agree", "failed"]},
           "different top-1 labels, the same top-1 label, or images that failed"),
    _query("below", {"type": "number", "minimum": 0, "maximum": 1},
           "only images whose top-1 score (of `model`) is under this"),
    _query("sort", {"enum": ["ordinal", "confidence", "-confidence"]},
           "upload order (default), or `model`'s top-1 score ascending / descending; sorted "
           "lists hold the images that model classified"),
    _query("model", {"type": "string"}, "the model whose confidence sorts and filters; "
                                        "default the job's first"),
    _query("format", {"enum": ["json", "csv"]},
           "the whole (filtered) result set as a download; says when weights were random"),
]

PATHS = {
    "/api/v1/jobs": {
        "post": {
            "summary": "Create a job from images and/or zip archives",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["files"],
                "properties": {
                    "files": {"type": "array",
                              "items": {"type": "string", "format": "binary"}},
                    "models": {"type": "string", "example": "vgg16,resnet50"},
                    "top_k": {"type": "integer", "minimum": 1, "maximum": 20},
                }}}}},
            "responses": {"202": _json({"$ref": "#/components/schemas/Job"}, "accepted"),
                          **_error_responses(400, 401, 413, 422, 429)},
        },
        "get": {
            "summary": "Recent jobs",
            "parameters": [{"name": "limit", "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 200}}],
            "responses": {"200": _json({"type": "object", "required": ["items"], "properties": {
                "items": {"type": "array", "items": {"$ref": "#/components/schemas/Job"}}}},
                "jobs, newest first"), **_error_responses(401, 429)},
        },
    },
    "/api/v1/jobs/{job_id}": {
        "parameters": [JOB_ID],
        "get": {"summary": "Poll a job",
                "responses": {"200": _json({"$ref": "#/components/schemas/Job"}, "the job"),
                              **_error_responses(401, 404, 429)}},
        "delete": {"summary": "Cancel a job (finished work is kept)",
                   "responses": {"200": _json({"$ref": "#/components/schemas/Job"}, "the job"),
                                 **_error_responses(401, 404, 429)}},
    },
    "/api/v1/jobs/{job_id}/results": {
        "parameters": [JOB_ID],
        "get": {
            "summary": "Results, both models side by side, in upload order",
            "description": "Keyset pages: follow `next`. Filters and sorts combine; a page "
                           "of 10,000 images costs what the first page does.",
            "parameters": RESULT_PARAMETERS,
            "responses": {
                "200": {"description": "a page of results, or with `format` the whole "
                                       "download (an attachment)", "content": {
                    "application/json": {"schema": {"anyOf": [{
                        "type": "object", "required": ["items", "next"],
                        "properties": {"items": {"type": "array", "items": {
                            "$ref": "#/components/schemas/ResultItem"}},
                            "next": _NULLABLE_STR}}, {
                        # format=json: the whole download, the job first
                        "type": "object", "required": ["job", "items"],
                        "properties": {"job": {"$ref": "#/components/schemas/Job"},
                                       "warning": _NULLABLE_STR, "items": {
                                           "type": "array", "items": {
                                               "$ref": "#/components/schemas/ResultItem"}}}}]}},
                    "text/csv": {"schema": {"type": "string"}}}},
                **_error_responses(400, 401, 404, 429),
            },
        },
    },
    "/api/v1/jobs/{job_id}/summary": {
        "parameters": [JOB_ID],
        "get": {"summary": "Agreement rate, most frequent top-1 labels and a confidence "
                           "histogram per model",
                "responses": {"200": _json({"$ref": "#/components/schemas/Summary"}, "summary"),
                              **_error_responses(401, 404, 429)}},
    },
}


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "twinlens API", "version": "1",
                 "description": "Image-classification jobs: VGG16 and ResNet50 side by side."},
        "paths": PATHS,
        "components": {"schemas": SCHEMAS, "securitySchemes": {
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}},
    }


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(document())
