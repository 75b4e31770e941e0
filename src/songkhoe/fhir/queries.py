"""Small queries over the store for the domains, beside `songkhoe.fhir.search` (`of_subject`, the
FHIR search): what a domain asks of the index tables without writing SQL over them.

Each function returns a SQLAlchemy SELECT that the caller runs on its own connection, inside its
own transaction, or nests in another one (an id SELECT as `live(...)`'s filter): one statement,
as when the domain wrote it by hand. Index rows exist for live resources only (the store drops
them when it retires a version).
"""

from collections.abc import Collection
from typing import Any

from sqlalchemy import Select, Subquery, and_, exists, func, or_, select

from songkhoe.db.tables import idx_quantity, idx_reference, idx_token, resource


def _token_conditions(
    resource_type: str, param: str, system: str, code: str | Collection[str] | None
) -> list[Any]:
    conditions = [
        idx_token.c.res_type == resource_type,
        idx_token.c.param == param,
        idx_token.c.system == system,
    ]
    if isinstance(code, str):
        conditions.append(idx_token.c.code == code)
    elif code is not None:
        conditions.append(idx_token.c.code.in_(list(code)))
    return conditions


def tagged(
    resource_type: str, param: str, system: str, code: str | Collection[str] | None = None
) -> Select:
    """SELECT res_id of the resources of a type with a token of `param` in `system`: with that
    code, one of those codes, or any code (None)."""
    return select(idx_token.c.res_id).where(*_token_conditions(resource_type, param, system, code))


def keep_tagged(query: Select, resource_type: str, param: str, system: str, code: str) -> Select:
    """`query`, a SELECT over the resource table (e.g. `of_subject`), keeping of `resource_type`
    only the resources with that token (other types pass): checked per row through the
    resource's own index rows, never listing every resource with the token."""
    has_token = exists().where(
        idx_token.c.res_id == resource.c.res_id,
        *_token_conditions(resource_type, param, system, code),
    )
    return query.where(or_(resource.c.res_type != resource_type, has_token))


def _reference_conditions(
    resource_type: str, param: str, target_ids: Collection[str] | None, target_type: str | None
) -> list[Any]:
    conditions = [idx_reference.c.res_type == resource_type, idx_reference.c.param == param]
    if target_type is not None:
        conditions.append(idx_reference.c.target_type == target_type)
    if target_ids is not None:
        conditions.append(idx_reference.c.target_id.in_(list(target_ids)))
    return conditions


def referencing(
    resource_type: str, param: str, target_ids: Collection[str], target_type: str | None = None
) -> Select:
    """SELECT res_id of the resources of a type whose reference `param` points at one of
    `target_ids` (resources of `target_type` only, when given)."""
    conditions = _reference_conditions(resource_type, param, target_ids, target_type)
    return select(idx_reference.c.res_id).where(*conditions)


def count_referencing(
    resource_type: str,
    param: str,
    target_ids: Collection[str] | None = None,
    target_type: str | None = None,
) -> Select:
    """SELECT (target_id, count): how many resources of a type point at each target through their
    reference `param` (at `target_ids` only, of `target_type` only, when given)."""
    conditions = _reference_conditions(resource_type, param, target_ids, target_type)
    return (
        select(idx_reference.c.target_id, func.count())
        .where(*conditions)
        .group_by(idx_reference.c.target_id)
    )


def count_by_patient_organization(params: Collection[str] = ("patient", "subject")) -> Select:
    """SELECT (res_type, organization id, count): the resources that name a Patient through one of
    `params`, counted per type and per the organization that manages the Patient
    (Patient.organization)."""
    about, managed = idx_reference.alias(), idx_reference.alias()
    return (
        select(about.c.res_type, managed.c.target_id, func.count(about.c.res_id.distinct()))
        .join(
            managed,
            and_(
                managed.c.res_type == "Patient",
                managed.c.param == "organization",
                managed.c.res_id == about.c.target_id,
            ),
        )
        .where(about.c.param.in_(list(params)), about.c.target_type == "Patient")
        .group_by(about.c.res_type, managed.c.target_id)
    )


def live(resource_type: str, *among: Select | Collection[str]) -> Select:
    """SELECT content of the live resources of a type whose id is in each of `among`: a SELECT
    of ids (`tagged`, `referencing`) or a list of ids; all of the type when none."""
    return select(resource.c.content).where(
        resource.c.res_type == resource_type,
        resource.c.is_current,
        ~resource.c.deleted,
        *(resource.c.res_id.in_(ids) for ids in among),
    )


def ids_in_use(resource_types: Collection[str], ids: Collection[str] | None = None) -> Select:
    """SELECT (res_type, res_id) of the resources of these types that exist, live or deleted (a
    create with one of these ids would conflict); of `ids` only, when given."""
    conditions = [resource.c.res_type.in_(list(resource_types)), resource.c.is_current]
    if ids is not None:
        conditions.append(resource.c.res_id.in_(list(ids)))
    return select(resource.c.res_type, resource.c.res_id).where(*conditions)


def ranked_by_target_quantity(
    ids: Subquery, resource_type: str, param: str, target_type: str, quantity_param: str
) -> Select:
    """SELECT res_id of `ids` (a subquery of resources of `resource_type` with a res_id column),
    each joined through its reference `param` to the resource of `target_type` it points at, by
    that resource's quantity `quantity_param`, largest first, then by id; a resource without
    such a target is left out. Ranked in SQL, with no resource read."""
    reference, quantity = idx_reference.alias(), idx_quantity.alias()
    return (
        select(ids.c.res_id)
        .join(
            reference,
            and_(
                reference.c.res_type == resource_type,
                reference.c.param == param,
                reference.c.res_id == ids.c.res_id,
                reference.c.target_type == target_type,
            ),
        )
        .join(
            quantity,
            and_(
                quantity.c.res_type == target_type,
                quantity.c.param == quantity_param,
                quantity.c.res_id == reference.c.target_id,
            ),
        )
        .order_by(quantity.c.value.desc(), ids.c.res_id)
    )
