"""The store-level SQL of the access rules: who a place manages, whom a resource names, what it is
coded as and what it refers to, and the store reads that access checks need.

The conditions are EXISTS/IN clauses correlated to a column or value of resource ids (`res_id`,
usually `rows.c.res_id` of the resource rows being searched), so a rule built from them runs inside
the search's own statement. `songkhoe.auth.policy` composes them into the access rules, and the
domains into the visibility rules they register with it; only db/ and fhir/ touch the store's
tables.
"""

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Connection, Select, Table, exists, select

from songkhoe.db.tables import idx_reference, idx_token, resource

ID_CHUNK = 500  # ids per IN (...) list

Ids = ColumnElement[Any]  # a column of resource ids, or one id as a literal


class Reference(NamedTuple):
    """A reference search parameter (or any of several) pointing at one resource."""

    param: str | tuple[str, ...]
    target_type: str
    target_id: str | Ids


def managed_patients(organization_ids: Sequence[str]) -> Select:
    """SELECT (patient_id) of the Patients managed by these Organizations."""
    org = idx_reference.alias()
    return select(org.c.res_id.label("patient_id")).where(
        org.c.res_type == "Patient",
        org.c.param == "organization",
        org.c.target_type == "Organization",
        org.c.target_id.in_(organization_ids),
    )


def names_no_patient_outside(resource_type: str, res_id: Ids, patients: Select) -> Ids:
    """Whether the resource names no Patient outside `patients` (a SELECT of ids)."""
    named = idx_reference.alias()
    return ~exists().where(
        named.c.res_type == resource_type,
        named.c.res_id == res_id,
        named.c.target_type == "Patient",
        named.c.target_id.not_in(patients),
    )


def names_patient_in(resource_type: str, res_id: Ids, patients: Select, *, per_row: bool) -> Ids:
    """Whether the resource names some Patient in `patients` (a SELECT of ids). `per_row`: other
    conditions already narrow the resources, so each is checked through its own index rows
    (EXISTS) instead of listing every resource that names one of these people (IN)."""
    named = idx_reference.alias()
    names_one = (
        named.c.res_type == resource_type,
        named.c.target_type == "Patient",
        named.c.target_id.in_(patients),
    )
    if per_row:
        return exists().where(named.c.res_id == res_id, *names_one)
    return res_id.in_(select(named.c.res_id).where(*names_one))


def has_code(resource_type: str, res_id: Ids, param: str, system: str, code: str) -> Ids:
    """Whether the resource has the code system|code in the token parameter `param`."""
    return exists().where(
        idx_token.c.res_type == resource_type,
        idx_token.c.res_id == res_id,
        idx_token.c.param == param,
        idx_token.c.system == system,
        idx_token.c.code == code,
    )


def _refers(
    rows: Any,
    resource_type: str,
    res_id: Ids | None,
    param: str | tuple[str, ...],
    target_type: str,
    target_id: str | Ids | None = None,
) -> list[Ids]:
    """The conditions on reference index `rows` of a reference from the resource `res_id` (None:
    any one) through `param` to `target_type`/`target_id` (None: any id)."""
    return [
        rows.c.res_type == resource_type,
        *([] if res_id is None else [rows.c.res_id == res_id]),
        rows.c.param.in_(param) if isinstance(param, tuple) else rows.c.param == param,
        rows.c.target_type == target_type,
        *([] if target_id is None else [rows.c.target_id == target_id]),
    ]


def refers_to(resource_type: str, res_id: Ids, reference: Reference) -> Ids:
    """Whether the resource refers to `reference`'s target through its parameter."""
    rows = idx_reference.alias()
    return exists().where(*_refers(rows, resource_type, res_id, *reference))


def some_refers_to(resource_type: str, first: Reference, *others: Reference) -> Ids:
    """Whether some one resource of the type refers to each of these targets."""
    rows = idx_reference.alias()
    conditions = _refers(rows, resource_type, None, *first)
    for reference in others:
        conditions += _refers(idx_reference.alias(), resource_type, rows.c.res_id, *reference)
    return exists().where(*conditions)


def refers_to_some(
    resource_type: str,
    res_id: Ids,
    param: str,
    target_type: str,
    target: Callable[[Ids], Sequence[Ids]],
) -> Ids:
    """Whether the resource refers through `param` to a resource of `target_type` whose id meets
    every one of the conditions `target(target_id)`."""
    rows = idx_reference.alias()
    return exists().where(
        *_refers(rows, resource_type, res_id, param, target_type), *target(rows.c.target_id)
    )


def holds(conn: Connection, condition: Ids) -> bool:
    """Whether a condition (on literal ids) holds now."""
    return bool(conn.execute(select(condition)).scalar())


def live_ids(
    conn: Connection,
    resource_type: str,
    ids: Sequence[str],
    visible: Callable[[Table], Ids | None],
) -> set[str]:
    """Those of these ids whose resource of the type exists now (not deleted) and meets
    `visible(rows)`, a condition on the resource table (None: no condition)."""
    found: set[str] = set()
    rule = visible(resource)
    for start in range(0, len(ids), ID_CHUNK):
        query = select(resource.c.res_id).where(
            resource.c.res_type == resource_type,
            resource.c.is_current,
            ~resource.c.deleted,
            resource.c.res_id.in_(ids[start : start + ID_CHUNK]),
            *([] if rule is None else [rule]),
        )
        found.update(conn.execute(query).scalars())
    return found


def last_content(conn: Connection, resource_type: str, resource_id: str) -> dict | None:
    """The latest version that has content: the live one, or the one before a deletion."""
    return conn.execute(
        select(resource.c.content)
        .where(
            resource.c.res_type == resource_type,
            resource.c.res_id == resource_id,
            ~resource.c.deleted,
        )
        .order_by(resource.c.version.desc())
        .limit(1)
    ).scalar()
