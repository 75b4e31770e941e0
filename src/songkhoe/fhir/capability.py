"""The CapabilityStatement served at /fhir/metadata (http://hl7.org/fhir/R4/capabilitystatement.html).

It is built from what the code does: the resource types the validator checks, and for each the
search parameters the index extracts (or derives from others), so it cannot claim more.
"""

from functools import cache

from songkhoe import __version__
from songkhoe.fhir.indexing import skipped_params
from songkhoe.fhir.searchparams import params_for
from songkhoe.fhir.systems import CCCD
from songkhoe.fhir.validation import validated_types

INTERACTIONS = [
    "read",
    "vread",
    "update",
    "delete",
    "history-instance",
    "history-type",
    "create",
    "search-type",
]
COMMON_PARAMS = [
    {"name": "_id", "type": "token"},
    {"name": "_lastUpdated", "type": "date"},
]
# CapabilityStatement.rest.documentation: what a client needs beyond the interactions listed
DOCUMENTATION = (
    "Retried writes: send an `Idempotency-Key` header (draft-ietf-httpapi-idempotency-key-header, "
    "a string of 1 to 255 printable ASCII characters) with a create (`POST [type]`) or a "
    "transaction or batch Bundle (`POST [base]`). The first response is kept with the key, for "
    "the caller who sent it, for 24 hours: the same request sent again with the key gets that "
    "response again and writes nothing; the key with another request is answered 422, and "
    "while the first request is still in progress 409. A request without the key is processed "
    "as sent.\n\n"
    "One CCCD for one person: a Patient may not hold a CCCD "
    f"(`{CCCD}`) that another live Patient holds (409, which names "
    "no one); a conditional create on it (`If-None-Exist: identifier=system|value`) answers "
    "with the Patient who holds it when the caller may see them."
)


@cache
def supported_types() -> frozenset[str]:
    """The resource types the API accepts: the R4 types the validator can check."""
    return frozenset(validated_types())


def _resource_entry(resource_type: str) -> dict:
    skipped = skipped_params(resource_type)
    params = [
        p
        for name, p in sorted(params_for(resource_type).items())
        if name not in skipped and name not in ("_id", "_lastUpdated")
    ]
    references = [p.name for p in params if p.type == "reference"]
    return {
        "type": resource_type,
        "interaction": [{"code": code} for code in INTERACTIONS],
        "versioning": "versioned-update",
        "readHistory": True,
        "updateCreate": True,
        "conditionalCreate": True,
        "conditionalUpdate": False,
        "conditionalDelete": "not-supported",
        "searchInclude": [f"{resource_type}:{name}" for name in references],
        "searchRevInclude": [],
        "searchParam": COMMON_PARAMS + [{"name": p.name, "type": p.type} for p in params],
    }


@cache
def capability_statement(base_url: str) -> dict:
    resources = [_resource_entry(t) for t in sorted(supported_types())]
    for entry in resources:
        if entry["type"] == "Patient":
            entry["operation"] = [
                {
                    "name": "everything",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                }
            ]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-22",
        "kind": "instance",
        "software": {"name": "Sống Khỏe", "version": __version__},
        "implementation": {"description": "Sống Khỏe FHIR R4 server", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": DOCUMENTATION,
                "resource": resources,
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
                "searchParam": COMMON_PARAMS,
                "operation": [
                    {
                        "name": "export",
                        "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
                    }
                ],
            }
        ],
    }
