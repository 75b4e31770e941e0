"""The NCD API for the web UI and other systems, at /api/ncd.

- `GET /api/ncd/indicators?province=CODE|commune=CODE&month=YYYY-MM[&by=commune]`: aggregates, for
  any authenticated caller whose place covers the place asked for (managers included).
- `GET /api/ncd/worklists/{kind}?commune=CODE[&as_of=DATETIME]` (default now; a bare date means
  its last second, UTC): personal data, for the commune's health workers and the doctors of its
  province, every read and refusal audited: the same read as the worklist pages
  (`songkhoe.ncd.worklist_read`), each entry with the day of its latest contact (`contacted`).
A caller signs in with the UI session cookie or a bearer token; errors are OperationOutcomes.
"""

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from songkhoe.auth.policy import covers
from songkhoe.fhir.indexing import date_range
from songkhoe.fhir.openapi import API_ERRORS, json_answer
from songkhoe.fhir.outcomes import FhirError
from songkhoe.ncd.indicators import InvalidMonth, indicators
from songkhoe.ncd.worklist_read import now, read_worklist
from songkhoe.ncd.worklists import KINDS
from songkhoe.places.catalog import UnknownPlace, commune, communes
from songkhoe.web.callers import CallerDep

router = APIRouter(prefix="/api/ncd", tags=["NCD"], responses=API_ERRORS)
ROWS = {"type": "array", "items": {"type": "object"}}


def _invalid(exc: Exception, field: str) -> FhirError:
    return FhirError.single(400, "invalid", f"{field}: {exc}", field)


@router.get(
    "/indicators",
    responses=json_answer(
        {
            "type": "object",
            "required": ["month", "projections_as_of", "rows"],
            "properties": {
                "month": {"type": "string"},
                "projections_as_of": {"type": ["string", "null"]},
                "rows": ROWS,
            },
        },
        "The indicators of the place (and of each commune with by=commune)",
    ),
)
def get_indicators(
    caller: CallerDep,
    month: Annotated[str, Query(examples=["2026-06"])],
    province: Annotated[str | None, Query(examples=["12"])] = None,
    commune: str | None = None,
    by: Annotated[str | None, Query(json_schema_extra={"enum": ["commune"]})] = None,
) -> JSONResponse:
    if (province is None) == (commune is None):
        raise FhirError.single(400, "required", "give either province or commune", "province")
    if by not in (None, "commune"):
        raise FhirError.single(400, "invalid", f"by must be commune, got {by!r}", "by")
    kind, code = ("province", province) if province is not None else ("commune", commune)
    try:
        covered = [c.code for c in communes(code)] if kind == "province" else [_commune(code)]
    except UnknownPlace as exc:
        raise _invalid(exc, kind) from None
    if caller.principal.patient_id is not None or not covers(caller.principal.place, covered):
        raise FhirError.single(
            403, "forbidden", f"the indicators of {kind} {code} are outside your place"
        )
    try:
        rows, as_of = indicators(
            caller.store.engine, place=(kind, code), month=month, by_commune=by == "commune"
        )
    except InvalidMonth as exc:
        raise _invalid(exc, "month") from None
    return JSONResponse({"month": month, "projections_as_of": as_of, "rows": rows})


@router.get(
    "/worklists/{kind}",
    responses=json_answer(
        {
            "type": "object",
            "required": ["kind", "commune", "as_of", "projections_as_of", "total", "entries"],
            "properties": {
                "kind": {"type": "string"},
                "commune": {"type": "string"},
                "as_of": {"type": "string"},
                "projections_as_of": {"type": ["string", "null"]},
                "total": {"type": "integer"},
                "entries": ROWS,
            },
        },
        "The worklist's entries the caller may see",
    ),
)
def get_worklist(
    caller: CallerDep,
    kind: Annotated[str, Path(json_schema_extra={"enum": list(KINDS)})],
    commune: str,
    as_of: str | None = None,
) -> JSONResponse:
    try:
        moment = np.datetime64(date_range(as_of)[1][:19]) if as_of else now()  # a date: its end
    except ValueError as exc:
        raise _invalid(exc, "as_of") from None
    found = read_worklist(caller, kind, commune, moment=moment)
    return JSONResponse(
        {"kind": kind, "commune": found.commune, "as_of": f"{moment}Z",
         "projections_as_of": found.projections_as_of, "total": found.total,
         "entries": found.entries}
    )  # fmt: skip


def _commune(code: str) -> str:
    return commune(code).code
