"""Search-index rows extracted from FHIR R4 resources (http://hl7.org/fhir/R4/search.html).

Each search parameter's FHIRPath expression is compiled once per resource type into a short
list of Python closures (a small subset of FHIRPath: paths, ``|``, ``[n]``, ``first()``,
``ofType(T)`` / ``as(T)`` / ``x as T`` on choice elements, ``where(resolve() is T)`` and
``where(field='literal')``). Compiled branches are keyed by the resource's top-level JSON key, so
``extract`` only evaluates the parameters whose first element is present. Expressions outside
the subset are listed by ``skipped_params``.

Row values follow the R4 search rules for each parameter type (search.html#token, #string,
#date, #reference, #quantity, #number, #uri). Dates are stored as UTC ranges; a date or dateTime
without a time zone is taken as UTC (R4 requires a zone whenever a time is given, so only
partial dates are affected).
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from songkhoe.fhir.searchparams import STORE_COLUMNS, choice_types, params_for

__all__ = [
    "DATE_MAX",
    "DATE_MIN",
    "MENTIONS_PATIENT",
    "IndexRows",
    "date_range",
    "extract",
    "normalize_string",
    "patient_mentions",
    "patients_named",
    "skipped_params",
]

DATE_MIN = "0001-01-01T00:00:00.000000Z"
DATE_MAX = "9999-12-31T23:59:59.999999Z"


@dataclass(slots=True)
class IndexRows:
    """Index rows of one resource, deduplicated, one list per index table."""

    token: list[tuple[str, str | None, str]]  # also uri params (system None, code = uri)
    string: list[tuple[str, str, str]]  # (param, normalized, exact)
    date: list[tuple[str, str, str]]  # (param, low, high), UTC, 27 characters
    reference: list[tuple[str, str | None, str]]  # (param, type or None, id or absolute URL)
    quantity: list[tuple[str, float, str | None, str | None]]  # (param, value, system, code)


# --- strings (search.html#string) -----------------------------------------------------------


# Combining diacritical marks (U+0300..U+036F: all Vietnamese tone and vowel marks) and đ.
_FOLD = {c: None for c in range(0x300, 0x370)} | {ord("đ"): "d"}


@lru_cache(maxsize=65536)
def normalize_string(text: str) -> str:
    """Case- and accent-insensitive form: lowercase, no combining marks, đ -> d, single spaces."""
    if text.isascii():
        return " ".join(text.lower().split())
    folded = unicodedata.normalize("NFD", text.lower()).translate(_FOLD)
    if not folded.isascii():  # marks outside the common block (other scripts)
        folded = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(folded.split())


# --- dates (search.html#date, datatypes.html#dateTime) ----------------------------------------

_DATE = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?"
)


@lru_cache(maxsize=65536)
def date_range(value: str) -> tuple[str, str]:
    """The UTC range ``(low, high)`` a FHIR date, dateTime or instant stands for.

    A partial value covers its whole precision ("2020" is all of 2020, "...T08:00:00" a whole
    second, ".5" a tenth of a second). An offset is converted to UTC; no zone means UTC.
    Raises ValueError naming the value when it is malformed.
    """
    match = _DATE.fullmatch(value) if type(value) is str else None
    if match is None:
        raise ValueError(f"invalid FHIR date/dateTime {value!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        y = int(year)
        if month is None:
            return (f"{year}-01-01T00:00:00.000000Z", f"{year}-12-31T23:59:59.999999Z")
        m = int(month)
        if day is None:
            last = calendar.monthrange(y, m)[1]
            return (
                f"{year}-{month}-01T00:00:00.000000Z",
                f"{year}-{month}-{last}T23:59:59.999999Z",
            )
        if hour is None:
            datetime(y, m, int(day))  # validates the day of the month
            prefix = f"{year}-{month}-{day}T"
            return (prefix + "00:00:00.000000Z", prefix + "23:59:59.999999Z")
        if second is None:
            second, low_us, high_us = "00", "000000", "999999"
            high_second = "59"
        else:
            digits = (fraction or "")[:6]
            low_us, high_us, high_second = digits.ljust(6, "0"), digits.ljust(6, "9"), second
        low = datetime(y, m, int(day), int(hour), int(minute), int(second))  # validates
        if zone is None or zone in _UTC_ZONES:
            prefix = f"{year}-{month}-{day}T{hour}:{minute}:"
            return (f"{prefix}{second}.{low_us}Z", f"{prefix}{high_second}.{high_us}Z")
        low = low.replace(microsecond=int(low_us)) - _offset(zone)
        high = low.replace(second=int(high_second), microsecond=int(high_us))
    except (ValueError, OverflowError):
        raise ValueError(f"invalid FHIR date/dateTime {value!r}") from None
    return (
        low.isoformat(timespec="microseconds") + "Z",
        high.isoformat(timespec="microseconds") + "Z",
    )


_UTC_ZONES = frozenset({"Z", "+00:00", "-00:00"})


@lru_cache(maxsize=128)
def _offset(zone: str) -> timedelta:
    """``+07:00`` -> 7 hours; raises ValueError past 14:00 (the largest real UTC offset)."""
    offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    if offset > timedelta(hours=14) or int(zone[4:6]) > 59:
        raise ValueError(f"invalid time zone {zone}")
    return -offset if zone[0] == "-" else offset


# --- references (references.html#literal) ----------------------------------------------------


def _parse_reference(ref: str) -> tuple[str | None, str] | None:
    """``Patient/1[/_history/2]`` -> ("Patient", "1"); absolute URL or urn -> (None, URL)."""
    if ref.startswith("#"):
        return None  # contained resource, not searchable by reference
    history = ref.find("/_history/")
    if history >= 0:
        ref = ref[:history]
    parts = ref.split("/")
    if len(parts) == 2 and parts[0][:1].isupper() and parts[1] and "?" not in ref:
        return (parts[0], parts[1])
    return (None, ref)


# A reference to a Patient in a resource's JSON as orjson writes it (compact): a `"reference":"`
# inside a string value has its quotes escaped there, so it never matches.
_PATIENT_REFERENCE = re.compile(
    rb'"reference":"Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^"]*)?"'
)
MENTIONS_PATIENT = "_mentions-patient"  # the parameter of `patient_mentions` rows


def patients_named(compact_json: bytes) -> set[str]:
    """The ids of the Patients a resource references anywhere in its content (literal
    `Patient/id` references, http://hl7.org/fhir/R4/references.html), from its compact JSON."""
    return {m.decode() for m in _PATIENT_REFERENCE.findall(compact_json)}


def patient_mentions(
    compact_json: bytes, reference: list[tuple[str, str | None, str]]
) -> list[tuple[str, str, str]]:
    """Reference rows, under the parameter MENTIONS_PATIENT (no search parameter: clients cannot
    search by it), for the Patients that a resource names outside its reference search
    parameters (`reference`, its rows from `extract`): in an extension, Task.input,
    Communication.payload... With them the access policy's search restriction sees every
    person a resource is about, as its check of a single resource does, and $everything finds
    the resource in the person's record."""
    indexed = {target for _, kind, target in reference if kind == "Patient"}
    return [
        (MENTIONS_PATIENT, "Patient", patient)
        for patient in sorted(patients_named(compact_json) - indexed)
    ]


def _reference_type(ref: str) -> str | None:
    """The resource type a relative or absolute literal reference points to."""
    history = ref.find("/_history/")
    if history >= 0:
        ref = ref[:history]
    parts = ref.rsplit("/", 2)
    return parts[-2] if len(parts) >= 2 else None


# --- emitters: one per parameter type, called on each node an expression yields ----------

_Rows = tuple[dict, dict, dict, dict, dict]  # token, string, date, reference, quantity
_Emit = Callable[[str, object, _Rows], None]

_STRING_PARTS = (
    "family", "given", "prefix", "suffix", "text",  # HumanName
    "line", "city", "district", "state", "postalCode", "country",  # Address
)  # fmt: skip


def _emit_token(param: str, node: object, rows: _Rows) -> None:
    """Coding, CodeableConcept, Identifier, code/string/id/boolean (search.html#token)."""
    kind = type(node)
    if kind is str:
        rows[0][(param, None, node)] = None
    elif kind is dict:
        codings = node.get("coding")
        if codings is not None:
            for coding in codings:
                code = coding.get("code")
                if type(code) is str and code:
                    rows[0][(param, coding.get("system"), code)] = None
            return
        code = node.get("code")
        if code is None:
            code = node.get("value")  # Identifier
        if type(code) is str and code:
            rows[0][(param, node.get("system"), code)] = None
    elif kind is bool:
        rows[0][(param, None, "true" if node else "false")] = None


def _emit_contact_point(param: str, node: object, rows: _Rows) -> None:
    """ContactPoint: the value is the code, the system (phone, email...) is not a URI."""
    if type(node) is dict:
        value = node.get("value")
        if type(value) is str and value:
            rows[0][(param, None, value)] = None


def _emit_uri(param: str, node: object, rows: _Rows) -> None:
    if type(node) is str:
        rows[0][(param, None, node)] = None


def _emit_string(param: str, node: object, rows: _Rows) -> None:
    """string, markdown, HumanName and Address parts, each part a row (search.html#string)."""
    if type(node) is str:
        rows[1][(param, normalize_string(node), node)] = None
    elif type(node) is dict:
        for key in _STRING_PARTS:
            part = node.get(key)
            if part is None:
                continue
            for text in part if type(part) is list else (part,):
                if type(text) is str:
                    rows[1][(param, normalize_string(text), text)] = None


def _emit_date(param: str, node: object, rows: _Rows) -> None:
    """date, dateTime, instant, Period and Timing.event (search.html#date)."""
    if type(node) is str:
        rows[2][(param, *date_range(node))] = None
    elif type(node) is dict:
        if "start" in node or "end" in node:
            start, end = node.get("start"), node.get("end")
            low = date_range(start)[0] if start else DATE_MIN
            high = date_range(end)[1] if end else DATE_MAX
            rows[2][(param, low, high)] = None
        for event in node.get("event", ()):
            rows[2][(param, *date_range(event))] = None


def _emit_reference(param: str, node: object, rows: _Rows) -> None:
    """Reference (literal only) and canonical/uri values (search.html#reference)."""
    if type(node) is dict:
        ref = node.get("reference")
        if type(ref) is str:
            parsed = _parse_reference(ref)
            if parsed is not None:
                rows[3][(param, *parsed)] = None
    elif type(node) is str:
        rows[3][(param, None, node)] = None


def _emit_quantity(param: str, node: object, rows: _Rows) -> None:
    """Quantity, Age, Duration, SimpleQuantity (search.html#quantity); Range is not indexed."""
    if type(node) is dict:
        value = node.get("value")
        if type(value) is int or type(value) is float:
            rows[4][(param, float(value), node.get("system"), node.get("code"))] = None


def _emit_number(param: str, node: object, rows: _Rows) -> None:
    if type(node) is int or type(node) is float:
        rows[4][(param, float(node), None, None)] = None


_EMITTERS: dict[str, _Emit] = {
    "token": _emit_token,
    "uri": _emit_uri,
    "string": _emit_string,
    "date": _emit_date,
    "reference": _emit_reference,
    "quantity": _emit_quantity,
    "number": _emit_number,
}


# --- the FHIRPath subset ---------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<string>'[^']*')|(?P<number>\d+)"
    r"|(?P<op>!=|[().|\[\]=,]))"
)


class _Unsupported(ValueError):
    """An expression outside the compiled FHIRPath subset."""


# A step: ("field", name) | ("oftype", type) | ("is", type) | ("eq", field, literal) | ("index", n)
_Step = tuple


class _Parser:
    """Recursive descent over the subset; yields union branches as lists of steps."""

    def __init__(self, expression: str) -> None:
        self.tokens: list[str] = []
        pos = 0
        text = expression.rstrip()
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                raise _Unsupported(f"cannot tokenize at {text[pos:]!r}")
            self.tokens.append(match.group(match.lastgroup))
            pos = match.end()
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise _Unsupported(f"expected {expected or 'more'}, got {token!r}")
        self.pos += 1
        return token

    def parse(self) -> list[list[_Step]]:
        branches = self.union()
        if self.peek() is not None:
            raise _Unsupported(f"unsupported operator {self.peek()!r}")
        return branches

    def union(self) -> list[list[_Step]]:
        branches = self.path()
        while self.peek() == "|":
            self.take()
            branches += self.path()
        return branches

    def path(self) -> list[list[_Step]]:
        if self.peek() == "(":
            self.take()
            heads = self.union()
            self.take(")")
        else:
            heads = [[("root", self.take())]]
        tail: list[_Step] = []
        while self.peek() in (".", "["):
            if self.take() == "[":
                tail.append(("index", int(self.take())))
                self.take("]")
            else:
                tail.append(self.invocation())
        if self.peek() == "as":
            self.take()
            tail.append(("oftype", self.take()))
        return [head + tail for head in heads]

    def invocation(self) -> _Step:
        name = self.take()
        if self.peek() != "(":
            return ("field", name)
        self.take()
        if name in ("ofType", "as"):
            step: _Step = ("oftype", self.take())
        elif name == "first":
            step = ("index", 0)
        elif name == "where" and self.peek() == "resolve":
            self.take()
            self.take("(")
            self.take(")")
            self.take("is")
            step = ("is", self.take())
        elif name == "where":
            field = self.take()
            self.take("=")
            step = ("eq", field, self.take()[1:-1])
        else:
            raise _Unsupported(f"unsupported function {name}()")
        self.take(")")
        return step


def _choice_key(name: str, type_code: str) -> str:
    return name + type_code[0].upper() + type_code[1:]


def _resolve_fields(resource_type: str, steps: list[_Step]) -> list[tuple]:
    """Turn field/oftype steps into JSON keys; a bare choice element expands to all its keys."""
    if steps[0] != ("root", resource_type):
        raise _Unsupported(f"branch not rooted at {resource_type}")
    resolved: list[tuple] = []
    path: str | None = resource_type
    i = 1
    while i < len(steps):
        step = steps[i]
        following = steps[i + 1] if i + 1 < len(steps) else None
        if step[0] == "field":
            name = step[1]
            if following is not None and following[0] == "oftype":
                keys: tuple[str, ...] = (_choice_key(name, following[1]),)
                path = None  # inside a data type: choice elements are only known by ofType
                i += 1
            else:
                path = f"{path}.{name}" if path else None
                choices = choice_types(path) if path else ()
                keys = tuple(_choice_key(name, t) for t in choices) or (name,)
            resolved.append(("field", keys, name))
        elif step[0] == "oftype":
            raise _Unsupported("ofType() not on a choice element")
        else:
            resolved.append(step)
        i += 1
    if not resolved or resolved[0][0] != "field":
        raise _Unsupported("expression does not start with an element")
    return resolved


_Nodes = list


def _field_step(keys: tuple[str, ...]) -> Callable[[_Nodes], _Nodes]:
    def step(nodes: _Nodes) -> _Nodes:
        out: _Nodes = []
        for node in nodes:
            if type(node) is dict:
                for key in keys:
                    value = node.get(key)
                    if value is not None:
                        if type(value) is list:
                            out.extend(value)
                        else:
                            out.append(value)
        return out

    return step


def _is_step(resource_type: str) -> Callable[[_Nodes], _Nodes]:
    def step(nodes: _Nodes) -> _Nodes:
        return [
            node
            for node in nodes
            if type(node) is dict
            and type(ref := node.get("reference")) is str
            and not ref.startswith("#")
            and _reference_type(ref) == resource_type
        ]

    return step


def _eq_step(field: str, literal: str) -> Callable[[_Nodes], _Nodes]:
    def step(nodes: _Nodes) -> _Nodes:
        return [node for node in nodes if type(node) is dict and node.get(field) == literal]

    return step


def _index_step(index: int) -> Callable[[_Nodes], _Nodes]:
    def step(nodes: _Nodes) -> _Nodes:
        return nodes[index : index + 1]

    return step


def _chain(steps: list[tuple]) -> Callable[[object], _Nodes] | None:
    """One closure applying ``steps`` to a top-level value; None when there are no steps."""
    funcs = []
    for step in steps:
        if step[0] == "field":
            funcs.append(_field_step(step[1]))
        elif step[0] == "is":
            funcs.append(_is_step(step[1]))
        elif step[0] == "eq":
            funcs.append(_eq_step(step[1], step[2]))
        else:
            funcs.append(_index_step(step[1]))
    if not funcs:
        return None

    def run(value: object) -> _Nodes:
        nodes = value if type(value) is list else [value]
        for func in funcs:
            nodes = func(nodes)
            if not nodes:
                break
        return nodes

    return run


_Entry = tuple[str, Callable[[object], _Nodes] | None, _Emit]


@dataclass(slots=True)
class _Compiled:
    by_key: dict[str, tuple[_Entry, ...]]
    skipped: dict[str, str]


def _compile(resource_type: str) -> _Compiled:
    entries: dict[str, list[_Entry]] = {}
    skipped: dict[str, str] = {}
    for name, param in params_for(resource_type).items():
        if name in STORE_COLUMNS or param.derived_from:
            continue
        try:
            branches = [
                _resolve_fields(resource_type, b) for b in _Parser(param.expression).parse()
            ]
        except (_Unsupported, ValueError):
            skipped[name] = param.expression
            continue
        for steps in branches:
            emit = _EMITTERS[param.type]
            last_field = [s[2] for s in steps if s[0] == "field"][-1]
            if param.type == "token" and last_field == "telecom":
                emit = _emit_contact_point
            rest = _chain(steps[1:])
            for key in steps[0][1]:
                entries.setdefault(key, []).append((name, rest, emit))
    return _Compiled({k: tuple(v) for k, v in entries.items()}, skipped)


_COMPILED: dict[str, _Compiled] = {}


def _compiled(resource_type: str) -> _Compiled:
    compiled = _COMPILED.get(resource_type)
    if compiled is None:
        compiled = _COMPILED[resource_type] = _compile(resource_type)
    return compiled


def skipped_params(resource_type: str) -> dict[str, str]:
    """Parameters of ``resource_type`` outside the compiled subset: name -> expression."""
    return dict(_compiled(resource_type).skipped)


def extract(resource: dict) -> IndexRows:
    """The deduplicated index rows of ``resource`` (not ``_id``/``_lastUpdated``: store columns).

    Raises ValueError naming the resource type and parameter when a value is malformed (a bad
    date, an object where R4 has an array), or when ``resourceType`` is missing or unknown.
    """
    resource_type = resource.get("resourceType")
    try:
        by_key = _compiled(resource_type).by_key
    except KeyError:
        raise ValueError(f"unknown FHIR R4 resourceType {resource_type!r}") from None
    rows: _Rows = ({}, {}, {}, {}, {})
    name = ""
    try:
        for key, value in resource.items():
            entries = by_key.get(key)
            if entries is None:
                continue
            for name, rest, emit in entries:
                nodes = value if rest is None else rest(value)
                if type(nodes) is list:
                    for node in nodes:
                        emit(name, node, rows)
                else:
                    emit(name, nodes, rows)
    except ValueError as exc:
        raise ValueError(f"{resource_type} search parameter {name!r}: {exc}") from None
    except (AttributeError, TypeError):  # e.g. "coding": {...} where a list is required
        raise ValueError(
            f"{resource_type} search parameter {name!r}: element of the wrong JSON shape"
        ) from None
    return IndexRows(list(rows[0]), list(rows[1]), list(rows[2]), list(rows[3]), list(rows[4]))
