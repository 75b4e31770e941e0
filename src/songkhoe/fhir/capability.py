"""The CapabilityStatement served at /fhir/metadata (http://hl7.org/fhir/R4/capabilitystatement.html).

It is built from what the code does: the resource types the validator checks, and for each the
search parameters the index extracts (or derives from others), so it cannot claim more.
"""

from functools import cache

from songkhoe import __version__
from songkhoe.fhir.indexing import skipped_params
from songkhoe.fhir.searchparams import params_for
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
