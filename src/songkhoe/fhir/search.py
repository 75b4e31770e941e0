"""Search over the index tables (http://hl7.org/fhir/R4/search.html).

Supported here: token (`code`, `system|code`, `|code`, `system|`), string (starts with, case- and
accent-insensitive), date with the prefixes eq/ne/lt/le/gt/ge/sa/eb, reference (`Type/id` or `id`),
quantity and number (`[prefix]value[|system|code]`, eq with the value's implied precision), uri, and
`_id` / `_lastUpdated`. Parameters are ANDed; comma-separated values are ORed. A parameter derived
from others (searchparams.SearchParam.derived_from) is searched through their index rows.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, Select, and_, not_, or_, select

from songkhoe.db.tables import INDEX_TABLES, resource
from songkhoe.fhir.indexing import date_range, normalize_string
from songkhoe.fhir.searchparams import SearchParam, lookup

PREFIXES = ("eq", "ne", "lt", "le", "gt", "ge", "sa", "eb", "ap")
TABLE_OF_TYPE = {"uri": "token", "number": "quantity"}
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


class InvalidSearch(ValueError):
    """A search value that cannot be parsed; the message names the parameter."""


@dataclass(frozen=True, slots=True)
class Criterion:
    name: str
    value: str


def _split_prefix(value: str) -> tuple[str, str]:
    if len(value) > 2 and value[:2] in PREFIXES and not value[:2].isdigit():
        return value[:2], value[2:]
    return "eq", value


def _range_condition(prefix: str, low: Any, high: Any, target_low: str, target_high: str) -> Any:
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


def _number_bounds(param: str, text: str) -> tuple[float, float, float]:
    """The value and the interval its significant digits imply: 100 means [99.5, 100.5)."""
    if not _NUMBER.fullmatch(text):
        raise InvalidSearch(f"{param}: {text!r} is not a number")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise InvalidSearch(f"{param}: {text!r} is not a number") from None
    half = Decimal(5).scaleb(number.as_tuple().exponent - 1)
    return float(number), float(number - half), float(number + half)


def _value_condition(param: SearchParam, table: Any, value: str) -> Any:
    """The SQL condition that one search value puts on a row of the parameter's index table."""
    name, kind = param.name, param.type
    if kind in ("token", "uri"):
        if kind == "token" and "|" in value:
            system, code = value.split("|", 1)
            parts = [table.c.system.is_(None) if system == "" else table.c.system == system]
            if code:
                parts.append(table.c.code == code)
            return and_(*parts)
        return table.c.code == value
    if kind == "string":
        escaped = normalize_string(value).replace("\\", "\\\\").replace("%", "\\%")
        return table.c.value.like(escaped.replace("_", "\\_") + "%", escape="\\")
    if kind == "date":
        prefix, text = _split_prefix(value)
        try:
            target_low, target_high = date_range(text)
        except ValueError as exc:
            raise InvalidSearch(f"{name}: {exc}") from None
        return _range_condition(prefix, table.c.low, table.c.high, target_low, target_high)
    if kind == "reference":
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


def _criterion_condition(resource_type: str, criterion: Criterion) -> Any:
    values = criterion.value.split(",")
    if criterion.name == "_id":
        return resource.c.res_id.in_(values)
    if criterion.name == "_lastUpdated":
        conditions = []
        for value in values:
            prefix, text = _split_prefix(value)
            try:
                low, high = date_range(text)
            except ValueError as exc:
                raise InvalidSearch(f"_lastUpdated: {exc}") from None
            column = resource.c.last_updated
            conditions.append(_range_condition(prefix, column, column, low, high))
        return or_(*conditions)
    param = lookup(resource_type, criterion.name)
    table = INDEX_TABLES[TABLE_OF_TYPE.get(param.type, param.type)]
    conditions = [
        table.c.res_type == resource_type,
        table.c.param.in_(param.derived_from or (param.name,)),
        or_(*[_value_condition(param, table, value) for value in values]),
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
    return resource.c.res_id.in_(select(table.c.res_id).where(*conditions))


def search_query(resource_type: str, criteria: Sequence[Criterion]) -> Select:
    """SELECT of the live resources of one type that meet every criterion, ordered by id."""
    conditions = [_criterion_condition(resource_type, c) for c in criteria]
    return (
        select(resource.c.content)
        .where(
            resource.c.res_type == resource_type,
            resource.c.is_current,
            not_(resource.c.deleted),
            *conditions,
        )
        .order_by(resource.c.res_id)
    )


def search(
    conn: Connection,
    resource_type: str,
    criteria: Sequence[Criterion],
    *,
    count: int = 100,
    offset: int = 0,
) -> list[dict]:
    """The matching resources, `count` at a time from `offset`."""
    query = search_query(resource_type, criteria).limit(count).offset(offset)
    return [row.content for row in conn.execute(query)]
