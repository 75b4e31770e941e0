"""Search over the index tables (http://hl7.org/fhir/R4/search.html).

Parameter types: token (`code`, `system|code`, `|code`, `system|`), string (starts with, case- and
accent-insensitive), date with the prefixes eq/ne/lt/le/gt/ge/sa/eb/ap, reference (`Type/id`, `id`
or an absolute URL), quantity and number (`[prefix]value[|system|code]`, eq with the value's
implied precision), uri; plus `_id` and `_lastUpdated`. Modifiers: `:exact` and `:contains`
(string), `:missing` (all), `:not` (token), `:Type` (reference). Chaining one level
(`subject:Patient.identifier=...`). Parameters are ANDed; comma-separated values are ORed. A
parameter derived from others (SearchParam.derived_from) is searched through their index rows.
Results: `_sort`, `_count`/`_offset` paging, `_include`/`_revinclude`, `_summary=count`.
What a caller may read is theirs to say: `SearchRequest.restrict` (the rows), `chained` (the
types a chain searches through, for the caller to refuse) and `readable` (the types `_include`
and `_revinclude` may add).
"""

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    and_,
    exists,
    func,
    not_,
    or_,
    select,
)

from songkhoe.db.tables import INDEX_TABLES, idx_reference, resource
from songkhoe.fhir.indexing import date_range, normalize_string
from songkhoe.fhir.searchparams import SearchParam, lookup
from songkhoe.fhir.systems import current_system

PREFIXES = ("eq", "ne", "lt", "le", "gt", "ge", "sa", "eb", "ap")
TABLE_OF_TYPE = {"uri": "token", "number": "quantity"}
MODIFIERS = {
    "string": {"exact", "contains", "missing"},
    "token": {"not", "missing"},
    "uri": {"missing"},
    "date": {"missing"},
    "reference": {"missing"},
    "quantity": {"missing"},
    "number": {"missing"},
}
DEFAULT_COUNT = 20
MAX_COUNT = 1000
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")


class InvalidSearch(ValueError):
    """A search that cannot be run as asked; the message names the parameter."""


@dataclass(frozen=True, slots=True)
class Criterion:
    name: str
    value: str
    modifier: str | None = None
    chain: tuple[str, str] | None = None  # (target type, parameter of the target)


@dataclass(frozen=True, slots=True)
class Include:
    source_type: str
    param: str
    target_type: str | None


@dataclass(slots=True)
class SearchRequest:
    criteria: list[Criterion] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    offset: int = 0
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (parameter, descending)
    include: list[Include] = field(default_factory=list)
    revinclude: list[Include] = field(default_factory=list)
    summary_count: bool = False
    # what the caller may see: (resource type, rows, per_row) -> SQL condition, None for all;
    # per_row: other conditions already narrow the rows, so check each one rather than list
    # every visible resource
    restrict: Callable[[str, Any, bool], Any] | None = None
    # the type each chained parameter searches through, by the parameter as written
    # (`subject:Patient.name` → Patient): the caller must be allowed to read it too
    chained: dict[str, str] = field(default_factory=dict)
    # whether the caller may read a type: `included` leaves out the others; None for all
    readable: Callable[[str], bool] | None = None

    def visible(self, resource_type: str, rows: Any, *, per_row: bool) -> list[Any]:
        if self.restrict is None:
            return []
        condition = self.restrict(resource_type, rows, per_row)
        return [] if condition is None else [condition]


def _int_control(name: str, value: str, maximum: int) -> int:
    if not value.isdigit():
        raise InvalidSearch(f"{name} must be a whole number, got {value!r}")
    return min(int(value), maximum)


def _parse_include(name: str, value: str) -> Include:
    parts = value.split(":")
    if len(parts) not in (2, 3) or not all(_NAME.fullmatch(p) for p in parts):
        raise InvalidSearch(f"{name} must be Type:parameter[:TargetType], got {value!r}")
    source_type, param_name = parts[0], parts[1]
    param = lookup(source_type, param_name)
    if param.type != "reference":
        raise InvalidSearch(f"{name}: {source_type}:{param_name} is not a reference parameter")
    return Include(source_type, param_name, parts[2] if len(parts) == 3 else None)


def _parse_criterion(resource_type: str, key: str, value: str) -> Criterion:
    """`name`, `name:modifier`, `name:Type.chained`, `name.chained`."""
    head, dot, chained = key.partition(".")
    name, colon, modifier = head.partition(":")
    if name in ("_id", "_lastUpdated"):
        if colon or dot:
            raise InvalidSearch(f"{key}: {name} takes no modifier or chain")
        return Criterion(name, value)
    param = lookup(resource_type, name)
    if dot:
        if param.type != "reference":
            raise InvalidSearch(f"{key}: only reference parameters can be chained")
        target = modifier or None
        if target is None and len(param.targets) == 1:
            target = param.targets[0]
        if target is None:
            raise InvalidSearch(
                f"{key}: {name} may point at {', '.join(param.targets)}; name one, "
                f"e.g. {name}:{param.targets[0]}.{chained}"
            )
        if chained not in ("_id",) and "." in chained:
            raise InvalidSearch(f"{key}: chains of more than one level are not supported")
        if chained != "_id":
            lookup(target, chained.partition(":")[0])
        return Criterion(name, value, None, (target, chained))
    if colon:
        if param.type == "reference" and modifier in param.targets:
            return Criterion(name, value, modifier)
        if modifier not in MODIFIERS.get(param.type, ()):
            raise InvalidSearch(f"{key}: modifier :{modifier} is not supported on {param.type}")
        if modifier == "missing" and value not in ("true", "false"):
            raise InvalidSearch(f"{key} must be true or false, got {value!r}")
    return Criterion(name, value, modifier or None)


def parse_query(resource_type: str, items: Iterable[tuple[str, str]]) -> SearchRequest:
    """A SearchRequest from query items; unknown parameters raise UnknownSearchParameter."""
    request = SearchRequest()
    for key, value in items:
        match key:
            case "_count":
                request.count = _int_control(key, value, MAX_COUNT)
            case "_offset":
                request.offset = _int_control(key, value, 10**9)
            case "_sort":
                for name in value.split(","):
                    descending = name.startswith("-")
                    name = name.removeprefix("-")
                    if name not in ("_id", "_lastUpdated"):
                        lookup(resource_type, name)
                    request.sort.append((name, descending))
            case "_include" | "_revinclude":
                target = request.include if key == "_include" else request.revinclude
                target.append(_parse_include(key, value))
            case "_summary":
                if value != "count":
                    raise InvalidSearch(f"_summary={value} is not supported (only count)")
                request.summary_count = True
            case "_total" | "_format":
                continue  # totals are always accurate; the API serves only JSON
            case _:
                # `_has` (search.html#has) is no parameter of any type, so it is refused here as
                # unknown; were it supported, its type must go into `chained` like a chain's
                criterion = _parse_criterion(resource_type, key, value)
                if criterion.chain is not None:
                    request.chained[key] = criterion.chain[0]
                request.criteria.append(criterion)
    return request


def _split_prefix(value: str) -> tuple[str, str]:
    if len(value) > 2 and value[:2] in PREFIXES:
        return value[:2], value[2:]
    return "eq", value


def _range_condition(prefix: str, low: Any, high: Any, target_low: Any, target_high: Any) -> Any:
    """Compare an indexed range [low, high] with the search value's range (search.html#prefix)."""
    match prefix:
        case "eq" | "ap":
            return and_(low >= target_low, high <= target_high)
        case "ne":
            return or_(low < target_low, high > target_high)
        case "lt":
            return low < target_low
        case "le":
            return low <= target_high
        case "gt":
            return high > target_high
        case "ge":
            return high >= target_low
        case "sa":
            return low > target_high
        case "eb":
            return high < target_low
    raise AssertionError(prefix)


def _number_bounds(name: str, text: str) -> tuple[float, float, float]:
    """The value and the interval its significant digits imply: 100 means [99.5, 100.5)."""
    if not _NUMBER.fullmatch(text):
        raise InvalidSearch(f"{name}: {text!r} is not a number")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise InvalidSearch(f"{name}: {text!r} is not a number") from None
    half = Decimal(5).scaleb(number.as_tuple().exponent - 1)
    return float(number), float(number - half), float(number + half)


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _date_bounds(name: str, text: str) -> tuple[str, str]:
    try:
        return date_range(text)
    except ValueError as exc:
        raise InvalidSearch(f"{name}: {exc}") from None


def _value_condition(param: SearchParam, modifier: str | None, table: Any, value: str) -> Any:
    """The SQL condition that one search value puts on a row of the parameter's index table."""
    name, kind = param.name, param.type
    if kind in ("token", "uri"):
        if kind == "token" and "|" in value:
            system, code = value.split("|", 1)
            system = current_system(system)  # a legacy identifier system finds VN Core's
            parts = [table.c.system.is_(None) if system == "" else table.c.system == system]
            if code:
                parts.append(table.c.code == code)
            return and_(*parts)
        return table.c.code == value
    if kind == "string":
        if modifier == "exact":
            return table.c.exact == value
        pattern = _like_escaped(normalize_string(value))
        pattern = f"%{pattern}%" if modifier == "contains" else f"{pattern}%"
        return table.c.value.like(pattern, escape="\\")
    if kind == "date":
        prefix, text = _split_prefix(value)
        target_low, target_high = _date_bounds(name, text)
        return _range_condition(prefix, table.c.low, table.c.high, target_low, target_high)
    if kind == "reference":
        if modifier is not None:  # a :Type modifier
            return and_(table.c.target_type == modifier, table.c.target_id == value)
        if "/" in value and not value.startswith(("http:", "https:", "urn:")):
            target_type, target_id = value.rsplit("/", 1)
            return and_(table.c.target_type == target_type, table.c.target_id == target_id)
        return table.c.target_id == value
    if kind in ("quantity", "number"):
        prefix, text = _split_prefix(value)
        number_text, *unit = text.split("|")
        exact, low, high = _number_bounds(name, number_text)
        column = table.c.value
        if prefix in ("eq", "ap"):
            condition = and_(column >= low, column < high)
        elif prefix == "ne":
            condition = or_(column < low, column >= high)
        else:
            condition = _range_condition(prefix, column, column, exact, exact)
        if len(unit) == 2:
            system, code = unit
            if system:
                condition = and_(condition, table.c.system == system)
            if code:
                condition = and_(condition, table.c.code == code)
        return condition
    raise InvalidSearch(f"{name}: searching on {kind} parameters is not supported")


def _index_rows(resource_type: str, param: SearchParam) -> tuple[Any, list[Any]]:
    """A fresh alias of the parameter's index table and the conditions that select its rows."""
    table = INDEX_TABLES[TABLE_OF_TYPE.get(param.type, param.type)].alias()
    conditions = [
        table.c.res_type == resource_type,
        table.c.param.in_(param.derived_from or (param.name,)),
    ]
    if param.target_filter:  # a typed reference, or an absolute URL naming that type
        conditions.append(
            or_(
                table.c.target_type == param.target_filter,
                and_(
                    table.c.target_type.is_(None),
                    table.c.target_id.like(f"%/{param.target_filter}/%"),
                ),
            )
        )
    return table, conditions


def _live_ids(resource_type: str, criteria: Sequence[Criterion], request: SearchRequest) -> Select:
    """SELECT res_id of the live, visible resources of a type that meet every criterion."""
    live = resource.alias()
    return select(live.c.res_id).where(
        live.c.res_type == resource_type,
        live.c.is_current,
        not_(live.c.deleted),
        *request.visible(resource_type, live, per_row=True),
        *_conditions(resource_type, criteria, live, request),
    )


SELECTIVE_TOKENS = frozenset({"identifier", "phone", "email", "telecom"})


def _selectivity(resource_type: str, criterion: Criterion) -> int:
    """A rank of how few rows a criterion is likely to match (lower: fewer): ids, references
    and identifiers first, names next, codes, statuses and dates last."""
    if criterion.name == "_id":
        return 0
    if criterion.name == "_lastUpdated" or criterion.modifier in ("missing", "not"):
        return 5
    param = lookup(resource_type, criterion.name)
    if param.type == "reference":
        return 1
    if param.type == "token" and criterion.name in SELECTIVE_TOKENS:
        return 2
    return 3 if param.type == "string" else 4


def _conditions(
    resource_type: str, criteria: Sequence[Criterion], rows: Any, request: SearchRequest
) -> list[Any]:
    """The conditions of all criteria: the most selective one drives (its matches are looked up
    by primary key), the others are checked per candidate through the index tables' per-resource
    index, so that an unselective criterion (a common code) is never materialised whole."""
    ranked = sorted(criteria, key=lambda c: _selectivity(resource_type, c))
    return [
        _condition(resource_type, c, rows, request, drives=i == 0) for i, c in enumerate(ranked)
    ]


def _condition(
    resource_type: str, criterion: Criterion, rows: Any, request: SearchRequest, drives: bool
) -> Any:
    """The condition one criterion puts on `rows` (the resource table or an alias of it): an
    IN list of matching ids when it drives the query, else a correlated EXISTS."""
    ids, values = rows.c.res_id, criterion.value.split(",")
    if criterion.name == "_id":
        return ids.in_(values)
    if criterion.name == "_lastUpdated":
        column = rows.c.last_updated
        bounds = [(p, *_date_bounds("_lastUpdated", t)) for p, t in map(_split_prefix, values)]
        return or_(*[_range_condition(p, column, column, lo, hi) for p, lo, hi in bounds])
    param = lookup(resource_type, criterion.name)
    table, conditions = _index_rows(resource_type, param)
    if criterion.chain is not None:
        target_type, chained = criterion.chain
        name, _, modifier = chained.partition(":")
        inner = Criterion(name, criterion.value, modifier or None)
        conditions += [
            table.c.target_type == target_type,
            table.c.target_id.in_(_live_ids(target_type, [inner], request)),
        ]
    elif criterion.modifier == "missing":
        present = ids.in_(select(table.c.res_id).where(*conditions))
        return not_(present) if criterion.value == "true" else present
    elif criterion.modifier == "not":
        plain = Criterion(criterion.name, criterion.value)
        return not_(_condition(resource_type, plain, rows, request, drives=False))
    else:
        conditions.append(
            or_(*[_value_condition(param, criterion.modifier, table, v) for v in values])
        )
    if drives:
        return ids.in_(select(table.c.res_id).where(*conditions))
    # checked per candidate through the resource's own index rows, which the planner picks once
    # it has statistics (ResourceStore.analyze)
    return exists().where(table.c.res_id == ids, *conditions)


def _sort_key(resource_type: str, name: str, descending: bool) -> Any:
    if name == "_id":
        column = resource.c.res_id
    elif name == "_lastUpdated":
        column = resource.c.last_updated
    else:
        param = lookup(resource_type, name)
        table, conditions = _index_rows(resource_type, param)
        kind = TABLE_OF_TYPE.get(param.type, param.type)
        column_name = {"token": "code", "string": "value", "reference": "target_id"}.get(
            kind, "value"
        )
        if kind == "date":
            column_name = "high" if descending else "low"
        value = table.c[column_name]
        pick = func.max(value) if descending else func.min(value)
        column = (
            select(pick).where(*conditions, table.c.res_id == resource.c.res_id).scalar_subquery()
        )
    return column.desc().nulls_last() if descending else column.asc().nulls_last()


def search_query(resource_type: str, request: SearchRequest) -> Select:
    """SELECT of the matching live resources' (res_id, content), sorted, not yet paged."""
    order = [_sort_key(resource_type, n, d) for n, d in request.sort] + [resource.c.res_id]
    return (
        select(resource.c.res_id, resource.c.content)
        .where(
            resource.c.res_type == resource_type,
            resource.c.is_current,
            not_(resource.c.deleted),
            *request.visible(resource_type, resource, per_row=bool(request.criteria)),
            *_conditions(resource_type, request.criteria, resource, request),
        )
        .order_by(*order)
    )


def count(conn: Connection, resource_type: str, request: SearchRequest) -> int:
    query = search_query(resource_type, request).order_by(None).subquery()
    return conn.execute(select(func.count()).select_from(query)).scalar_one()


def page(conn: Connection, resource_type: str, request: SearchRequest) -> list[tuple[str, dict]]:
    """One page of (id, resource) of the request."""
    query = search_query(resource_type, request).limit(request.count).offset(request.offset)
    return [(row.res_id, row.content) for row in conn.execute(query)]


def _fetch(conn: Connection, keys: set[tuple[str, str]], request: SearchRequest) -> list[dict]:
    """The live, visible resources named by (type, id) keys, in a stable order."""
    found = []
    by_type: dict[str, list[str]] = {}
    for res_type, res_id in sorted(keys):
        by_type.setdefault(res_type, []).append(res_id)
    for res_type, ids in by_type.items():
        found += conn.execute(
            select(resource.c.content)
            .where(
                resource.c.res_type == res_type,
                resource.c.res_id.in_(ids),
                resource.c.is_current,
                not_(resource.c.deleted),
                *request.visible(res_type, resource, per_row=True),
            )
            .order_by(resource.c.res_id)
        ).scalars()
    return found


def included(
    conn: Connection, resource_type: str, ids: Sequence[str], request: SearchRequest
) -> tuple[list[dict], list[str]]:
    """The resources that `_include` and `_revinclude` add to a page of matches, and the types
    they leave out because the caller may not read them (`request.readable`): a `_revinclude`'s
    type whether or not anything refers to the matches (that would tell), an `_include`'s
    types as the matches' own references name them."""
    readable = request.readable or (lambda _type: True)
    keys: set[tuple[str, str]] = set()
    left_out: set[str] = set()
    for inc in request.include:
        if inc.source_type != resource_type:
            continue
        table, conditions = _index_rows(resource_type, lookup(resource_type, inc.param))
        if inc.target_type:
            conditions.append(table.c.target_type == inc.target_type)
        rows = conn.execute(
            select(table.c.target_type, table.c.target_id).where(
                *conditions, table.c.res_id.in_(ids), table.c.target_type.is_not(None)
            )
        )
        keys.update((t, i) for t, i in rows)
    for inc in request.revinclude:
        if inc.target_type not in (None, resource_type):
            continue
        if not readable(inc.source_type):
            left_out.add(inc.source_type)
            continue
        table, conditions = _index_rows(inc.source_type, lookup(inc.source_type, inc.param))
        rows = conn.execute(
            select(table.c.res_id).where(
                *conditions, table.c.target_type == resource_type, table.c.target_id.in_(ids)
            )
        )
        keys.update((inc.source_type, i) for (i,) in rows)
    keys -= {(resource_type, i) for i in ids}
    left_out.update(t for t, _ in keys if not readable(t))
    return _fetch(conn, {k for k in keys if k[0] not in left_out}, request), sorted(left_out)


def of_subject(patient_id: str, resource_types: Iterable[str]) -> Select:
    """SELECT (res_type, content) of the live resources of these types whose `subject` is the
    patient: one query over the reference index instead of a search per type, with no access
    rule (the caller applies its own to what it finds)."""
    subject = idx_reference
    return (
        select(resource.c.res_type, resource.c.content)
        .join(
            subject,
            and_(subject.c.res_type == resource.c.res_type, subject.c.res_id == resource.c.res_id),
        )
        .where(
            subject.c.target_id == patient_id,
            subject.c.target_type == "Patient",
            subject.c.param == "subject",
            subject.c.res_type.in_(list(resource_types)),
            resource.c.is_current,
            ~resource.c.deleted,
        )
    )


def compartment(conn: Connection, patient_id: str, request: SearchRequest) -> list[dict]:
    """The visible resources that reference the patient through any reference parameter: the
    Patient compartment (http://hl7.org/fhir/R4/compartmentdefinition-patient.html) as
    indexed here; the record, not the audit trail of who read it (no AuditEvents)."""
    rows = conn.execute(
        select(idx_reference.c.res_type, idx_reference.c.res_id)
        .where(
            idx_reference.c.target_type == "Patient",
            idx_reference.c.target_id == patient_id,
            idx_reference.c.res_type != "AuditEvent",
        )
        .distinct()
    )
    return _fetch(conn, {(t, i) for t, i in rows} - {("Patient", patient_id)}, request)
