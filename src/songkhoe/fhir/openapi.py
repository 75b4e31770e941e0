"""What the OpenAPI description (/openapi.json) says of the FHIR API that FastAPI cannot see in
its handlers, which read and write FHIR JSON themselves: the media type
(http://hl7.org/fhir/R4/http.html#mime-type), the resource types a path takes, the shapes of the
bodies (a resource, a Bundle, an OperationOutcome, the Bulk Data manifest) and the errors.

The schemas hold what every such body has (`resourceType`, a stored resource's `id` and `meta`, a
Bundle's `type` and entries); the structure of each type is R4's (http://hl7.org/fhir/R4/json.html),
checked by `songkhoe.fhir.validation`.
"""

from typing import Annotated, Any

from fastapi import Path

from songkhoe.fhir.capability import supported_types
from songkhoe.fhir.store import ID_PATTERN

FHIR_JSON = "application/fhir+json"
JSON = "application/json"
NDJSON = "application/fhir+ndjson"

RESOURCE_TYPES = sorted(supported_types())
ResourceType = Annotated[
    str, Path(description="A FHIR R4 resource type", json_schema_extra={"enum": RESOURCE_TYPES})
]

ResourceId = Annotated[
    str,
    Path(
        description="A resource id (http://hl7.org/fhir/R4/datatypes.html#id)",
        json_schema_extra={"pattern": f"^{ID_PATTERN.pattern}$"},
    ),
]

RESOURCE: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType"],
    "properties": {"resourceType": {"type": "string"}, "id": {"type": "string"}},
}
NEW_RESOURCE: dict[str, Any] = {  # a body to create or update
    "type": "object",
    "required": ["resourceType"],
    "properties": {"resourceType": {"enum": RESOURCE_TYPES}, "id": {"type": "string"}},
}
STORED_RESOURCE: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType", "id", "meta"],
    "properties": {
        "resourceType": {"type": "string"},
        "id": {"type": "string"},
        "meta": {
            "type": "object",
            "required": ["versionId", "lastUpdated"],
            "properties": {"versionId": {"type": "string"}, "lastUpdated": {"type": "string"}},
        },
    },
}
OPERATION_OUTCOME: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["severity", "code"],
                "properties": {
                    "severity": {"enum": ["fatal", "error", "warning", "information"]},
                    "code": {"type": "string"},
                    "diagnostics": {"type": "string"},
                    "expression": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}
BUNDLE: dict[str, Any] = {  # what the server answers (http://hl7.org/fhir/R4/bundle.html)
    "type": "object",
    "required": ["resourceType", "type"],
    "properties": {
        "resourceType": {"const": "Bundle"},
        "type": {"enum": ["searchset", "history", "transaction-response", "batch-response"]},
        "total": {"type": "integer", "minimum": 0},
        "link": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["relation", "url"],
                "properties": {"relation": {"type": "string"}, "url": {"type": "string"}},
            },
        },
        "entry": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "fullUrl": {"type": "string"},
                    "resource": RESOURCE,
                    "search": {
                        "type": "object",
                        "properties": {"mode": {"enum": ["match", "include", "outcome"]}},
                    },
                    "response": {
                        "type": "object",
                        "required": ["status"],
                        "properties": {"status": {"type": "string"}},
                    },
                },
            },
        },
    },
}
TRANSACTION: dict[str, Any] = {  # what a client posts to /fhir (http.html#transaction)
    "type": "object",
    "required": ["resourceType", "type"],
    "properties": {
        "resourceType": {"const": "Bundle"},
        "type": {"enum": ["transaction", "batch"]},
        "entry": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["request"],
                "properties": {
                    "fullUrl": {"type": "string"},
                    "resource": NEW_RESOURCE,
                    "request": {
                        "type": "object",
                        "required": ["method", "url"],
                        "properties": {
                            "method": {"enum": ["GET", "POST", "PUT", "DELETE"]},
                            "url": {"type": "string"},
                        },
                    },
                },
            },
        },
    },
}
CAPABILITY_STATEMENT: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType", "fhirVersion", "rest"],
    "properties": {
        "resourceType": {"const": "CapabilityStatement"},
        "fhirVersion": {"const": "4.0.1"},
        "rest": {"type": "array", "minItems": 1, "items": {"type": "object"}},
    },
}
EXPORT_MANIFEST: dict[str, Any] = {  # bulkdata/STU1.0.1/export.html#response---complete-status
    "type": "object",
    "required": ["transactionTime", "request", "requiresAccessToken", "output", "error"],
    "properties": {
        "transactionTime": {"type": "string"},
        "request": {"type": "string"},
        "requiresAccessToken": {"type": "boolean"},
        "output": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "url"],
                "properties": {
                    "type": {"type": "string"},
                    "url": {"type": "string"},
                    "count": {"type": "integer"},
                },
            },
        },
        "error": {"type": "array"},
    },
}


def header(description: str) -> dict[str, Any]:
    """A response header that is always sent."""
    return {"description": description, "required": True, "schema": {"type": "string"}}


VERSION_HEADERS = {
    "ETag": header('The version: W/"versionId"'),
    "Last-Modified": header("meta.lastUpdated, as an HTTP date"),
}
LOCATION_HEADERS = {**VERSION_HEADERS, "Location": header("The version's URL (_history)")}


def response_doc(
    schema: dict[str, Any],
    description: str,
    headers: dict[str, Any] | None = None,
    media_type: str = FHIR_JSON,
) -> dict[str, Any]:
    """An OpenAPI response (FHIR JSON unless `media_type` says otherwise)."""
    response = {"description": description, "content": {media_type: {"schema": schema}}}
    return response | ({"headers": headers} if headers else {})


def json_answer(schema: dict[str, Any], description: str) -> dict[int | str, dict[str, Any]]:
    """The `responses` of a JSON API route that answers 200 with `schema`."""
    return {200: response_doc(schema, description, media_type=JSON)}


def body_doc(
    schema: dict[str, Any],
    description: str,
    headers: dict[str, dict[str, Any]] | None = None,
    media_type: str = FHIR_JSON,
) -> dict[str, Any]:
    """The `openapi_extra` of a route that reads its body itself: the body (FHIR JSON unless
    `media_type` says otherwise; the FHIR routes take `application/json` too, FHIR's own media
    type is the one described) and the optional request headers it heeds (name: schema)."""
    content = {media_type: {"schema": schema}}
    extra: dict[str, Any] = {
        "requestBody": {"required": True, "description": description, "content": content}
    }
    if headers:
        extra["parameters"] = [
            {"name": name, "in": "header", "schema": schema} for name, schema in headers.items()
        ]
    return extra


IF_MATCH = {"If-Match": {"type": "string", "pattern": '^W/"[0-9]+"$'}}  # http.html#concurrency
IF_NONE_EXIST = {"If-None-Exist": {"type": "string", "description": "A search (http.html#ccreate)"}}
# A retry key (draft-ietf-httpapi-idempotency-key-header; songkhoe.fhir.retries), kept 24 h.
IDEMPOTENCY_KEY = {
    "Idempotency-Key": {
        "type": "string",
        "pattern": r"^[\x21\x23-\x5b\x5d-\x7e]{1,255}$",  # retries.parse_key, unquoted
        "description": "Sent again with the same request, answers the first response again "
        "(nothing written twice); with another request, 422",
    }
}


# The header of the Bulk Data kick-off (bulkdata/STU1.0.1/export.html#headers).
RESPOND_ASYNC = {
    "name": "Prefer",
    "in": "header",
    "required": True,
    "schema": {"const": "respond-async"},
}


# POST [type]/_search takes the search parameters as a form (http.html#search).
SEARCH_FORM = {
    "requestBody": {
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {"type": "object", "additionalProperties": {"type": "string"}}
            }
        }
    }
}


# Every error of the FHIR API is an OperationOutcome (http.html#rejecting-updates and the
# like), also those of the hardening middleware (songkhoe.web.hardening): 413, 429, 500, 503.
FHIR_ERRORS: dict[int | str, dict[str, Any]] = {
    status: response_doc(OPERATION_OUTCOME, "OperationOutcome")
    for status in (400, 401, 403, 404, 409, 410, 412, 413, 415, 422, 429, 500, 503)
}
# Outside /fhir the middleware answers `{"detail": ...}` (500: and an "incident" id to find it
# in the log): a URL with a control character (400), a body too large, too many requests, the
# database out of reach, an internal error.
MIDDLEWARE_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {"type": "string"}, "incident": {"type": "string"}},
}
MIDDLEWARE_ERRORS: dict[int | str, dict[str, Any]] = {
    status: response_doc(MIDDLEWARE_ERROR, "Refused or failed", media_type=JSON)
    for status in (400, 413, 429, 500, 503)
}
# The JSON APIs (/api/...) answer their own errors with an OperationOutcome.
API_ERRORS: dict[int | str, dict[str, Any]] = {
    **MIDDLEWARE_ERRORS,
    **{status: FHIR_ERRORS[status] for status in (401, 403, 404, 409, 415)},
    400: {
        "description": "OperationOutcome; a URL with a control character: {detail}",
        "content": {
            FHIR_JSON: {"schema": OPERATION_OUTCOME},
            JSON: {"schema": MIDDLEWARE_ERROR},
        },
    },
}
