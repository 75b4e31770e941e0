"""A facility's price list, as FHIR: services and supplies (XML3) and drugs (XML2) with their
prices versioned by date.

Read from the CSV a facility keeps (one reader, `songkhoe.csv_input`; errors name the row):
- services and supplies: `kind` (service or supply; empty: service), `code` (MA_DICH_VU or
  MA_VAT_TU of the Bộ mã DMDC), `name`, `unit`, `cost_group` (MA_NHOM, QĐ 5937/QĐ-BYT Phụ lục 3),
  `hospital_price` (DON_GIA_BV), `insurance_price` (DON_GIA_BH), `service_rate` (TYLE_TT_DV,
  percent; empty when none), `payment_rate` (TYLE_TT_BH, percent; empty: 100, as XML3 #18 says
  for an item with no set rate), `tender` (TT_THAU, supplies), `valid_from`, `valid_to` (empty:
  open), `source`;
- drugs: `code` (the facility's; a code of the prescribing catalogue,
  `songkhoe.prescribing.catalogue`, brings its name, strength, form and unit, which the optional
  columns of the same names override), `bhyt_code` (MA_THUOC: the active-ingredient code of the
  Bộ mã DMDC; empty when unknown), `route_code` (DUONG_DUNG), `registration` (SO_DANG_KY),
  `tender` (TT_THAU), `cost_group` (empty: 4, drugs), `payment_rate`, `price` (DON_GIA: XML2
  has one price), `valid_from`, `valid_to`, `source`.
Dates are yyyy-mm-dd; a version covers valid_from to valid_to, both included. Two versions of
one code that share a day are refused, naming both rows.

As FHIR (one list per `catalogue` name): each price version is a ChargeItemDefinition whose url
names the list, the kind and the code, whose version is its valid_from, with effectivePeriod and
one propertyGroup: the BHYT price (`base`), the hospital price and the rates (`informational`,
rates as factors: 50 % is 0.5), MA_NHOM, unit, tender and scope as extensions, the row's source
as description. Each drug is also a Medication coded with its MA_THUOC (`DRUG`), the prescribing
catalogue's code and ATC where known, its SO_DANG_KY as identifier; its versions point at it
(`instance`). Ids are derived from the url (and version), so loading a list again updates it.

The shipped lists (`data/catalogue/`: a commune station's and a district's, i.e. a regional
medical centre ranked like a hạng III hospital) cite their source row by row. Most amounts and
several codes could NOT be verified from here and say so; drug registrations, tenders and prices
are synthetic. A facility loads its own list with `songkhoe bhyt catalogue load`.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cache
from importlib import resources
from itertools import pairwise
from pathlib import Path
from urllib.parse import quote

from songkhoe.csv_input import CsvFile, read_csv
from songkhoe.fhir.queries import ids_in_use, live
from songkhoe.fhir.store import ResourceStore
from songkhoe.fhir.systems import ATC, BASE
from songkhoe.prescribing.catalogue import CATALOGUE_SYSTEM, UnknownDrug, drug

SERVICE_SYSTEM = f"{BASE}/CodeSystem/bhyt-service"  # MA_DICH_VU of the Bộ mã DMDC
SUPPLY_SYSTEM = f"{BASE}/CodeSystem/bhyt-supply"  # MA_VAT_TU of the Bộ mã DMDC
DRUG = f"{BASE}/CodeSystem/bhyt-active-ingredient"  # MA_THUOC of the Bộ mã DMDC
FACILITY_DRUG = f"{BASE}/CodeSystem/facility-drug"  # a price list's own drug codes
REGISTRATION = f"{BASE}/sid/drug-registration"  # SO_DANG_KY
PRICE_KIND = f"{BASE}/CodeSystem/bhyt-price-component"
EXT_COST_GROUP = f"{BASE}/StructureDefinition/bhyt-cost-group"
EXT_UNIT = f"{BASE}/StructureDefinition/bhyt-unit"
EXT_TENDER = f"{BASE}/StructureDefinition/bhyt-tender"
EXT_ROUTE = f"{BASE}/StructureDefinition/bhyt-route"
EXT_STRENGTH = f"{BASE}/StructureDefinition/bhyt-strength"
DEFINITION_URL = f"{BASE}/ChargeItemDefinition"
CURRENCY = "VND"
COMMUNE_STATION, DISTRICT = "commune-station", "district"
_ID_SPACE = uuid.UUID("0f7e3b8a-5a51-4c1e-9d0e-6a2b1c4d5e60")
_HUNDRED = Decimal(100)
_DRUGS_GROUP = "4"  # MA_NHOM of drugs in the fund's list (QĐ 5937/QĐ-BYT Phụ lục 3)


class ItemKind(StrEnum):
    SERVICE = "service"
    SUPPLY = "supply"
    DRUG = "drug"


CODE_SYSTEM = {ItemKind.SERVICE: SERVICE_SYSTEM, ItemKind.SUPPLY: SUPPLY_SYSTEM,
               ItemKind.DRUG: FACILITY_DRUG}  # fmt: skip
"""The code system of an item's code, by kind."""


class CatalogueError(ValueError):
    """A price list that cannot be used as given; the message names the file and row."""


@dataclass(frozen=True)
class DrugFacts:
    """What XML2 says of a drug beyond its price."""

    bhyt_code: str  # MA_THUOC ("" when unknown)
    ingredient: str  # the active ingredient(s), as the prescribing catalogue spells them
    strength: str  # HAM_LUONG
    form: str  # DANG_BAO_CHE
    route: str  # DUONG_DUNG code
    registration: str  # SO_DANG_KY
    atc: str | None
    catalogue_code: str | None  # the prescribing catalogue's code


@dataclass(frozen=True)
class Entry:
    """One price version of one item of a price list: one CSV row, one ChargeItemDefinition."""

    catalogue: str
    kind: ItemKind
    code: str
    name: str
    unit: str
    cost_group: str
    hospital_price: Decimal
    insurance_price: Decimal
    service_rate: Decimal | None
    payment_rate: Decimal
    tender: str
    valid_from: date
    valid_to: date | None
    source: str
    drug: DrugFacts | None = None
    row: int = field(default=0, compare=False)  # the CSV row (1 is the header; 0: not a file's)

    @property
    def url(self) -> str:
        return definition_url(self.catalogue, self.kind, self.code)

    @property
    def version(self) -> str:
        return self.valid_from.isoformat()

    @property
    def canonical(self) -> str:
        """What a ChargeItem or MedicationDispense names it by: url|version."""
        return f"{self.url}|{self.version}"

    @property
    def definition_id(self) -> str:
        return definition_id(self.canonical)

    @property
    def medication_id(self) -> str:
        return medication_id(self.catalogue, self.code)

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


def definition_url(catalogue: str, kind: ItemKind, code: str) -> str:
    return f"{DEFINITION_URL}/{catalogue}/{kind.value}/{quote(code, safe='')}"


def definition_id(canonical: str) -> str:
    """The ChargeItemDefinition id of a url|version."""
    return str(uuid.uuid5(_ID_SPACE, canonical))


def medication_id(catalogue: str, code: str) -> str:
    return str(uuid.uuid5(_ID_SPACE, f"{catalogue}|medication|{code}"))


class Catalogue:
    """A price list: every version of every item."""

    def __init__(self, name: str, entries: Iterable[Entry]) -> None:
        self.name = name
        self.entries = tuple(entries)
        self._versions: dict[tuple[ItemKind, str], list[Entry]] = defaultdict(list)
        for entry in self.entries:
            self._versions[(entry.kind, entry.code)].append(entry)

    def price(self, kind: ItemKind, code: str, on: date) -> Entry:
        """The version of an item in force on a day; LookupError naming the item otherwise."""
        versions = self._versions.get((kind, code))
        if not versions:
            raise LookupError(f"{self.name}: no {kind.value} {code!r} in the price list")
        for entry in versions:
            if entry.covers(on):
                return entry
        raise LookupError(f"{self.name}: {kind.value} {code!r} has no price on {on.isoformat()}")

    def drug_with_atc(self, atc: str, on: date) -> Entry:
        """The first drug of the list with this ATC code, in its version of that day."""
        for entry in self.entries:
            if entry.drug is not None and entry.drug.atc == atc:
                return self.price(ItemKind.DRUG, entry.code, on)
        raise LookupError(f"{self.name}: no drug with ATC {atc} in the price list")


# ---- reading the CSV ----

SERVICE_COLUMNS = ("kind", "code", "name", "unit", "cost_group", "hospital_price",
                   "insurance_price", "service_rate", "payment_rate", "tender", "valid_from",
                   "valid_to", "source")  # fmt: skip
DRUG_COLUMNS = ("code", "bhyt_code", "route_code", "registration", "tender", "cost_group",
                "payment_rate", "price", "valid_from", "valid_to", "source", "name", "strength",
                "form", "unit")  # fmt: skip
_REQUIRED = {
    "services": ("code", "name", "unit", "cost_group", "hospital_price", "insurance_price",
                 "valid_from", "source"),
    "drugs": ("code", "route_code", "price", "valid_from", "source"),
}  # fmt: skip
_AMOUNTS = ("hospital_price", "insurance_price", "service_rate", "payment_rate", "price")


class _Row:
    """One CSV record by column name, with parsers that name the row and column."""

    def __init__(self, csv_file: CsvFile, number: int, record: list[str]) -> None:
        self.path, self.number = csv_file.path, number
        if len(record) > len(csv_file.header):
            raise CatalogueError(
                f"{self.path}: row {number}: {len(record)} cells, the header names "
                f"{len(csv_file.header)} columns"
            )
        self.values = {name: value.strip() for name, value in zip(csv_file.header, record)}  # noqa: B905 (a short row's last cells are empty)

    def fail(self, column: str, message: str) -> CatalogueError:
        return CatalogueError(f"{self.path}: row {self.number}, column {column}: {message}")

    def text(self, column: str, default: str = "") -> str:
        return self.values.get(column, "") or default

    def required(self, column: str) -> str:
        value = self.text(column)
        if not value:
            raise self.fail(column, "empty")
        return value

    def amount(self, column: str) -> Decimal | None:
        """The amount of a cell, None when it is empty."""
        text = self.text(column)
        if not text:
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise self.fail(column, f"{text!r} is not a number") from None
        if not value.is_finite() or value < 0:
            raise self.fail(column, f"{text!r} is not an amount of zero or more")
        return value

    def required_amount(self, column: str) -> Decimal:
        value = self.amount(column)
        if value is None:
            raise self.fail(column, "empty")
        return value

    def rate(self, column: str) -> Decimal:
        """A payment rate, percent: 100 when the cell is empty (XML2 #17, XML3 #18)."""
        value = self.amount(column)
        return _HUNDRED if value is None else value

    def day(self, column: str) -> date | None:
        text = self.text(column)
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise self.fail(column, f"{text!r} is not a date yyyy-mm-dd") from None


def read_price_list(path: Path, kind: str, catalogue: str) -> list[Entry]:
    """The entries of a CSV price list (`kind` "services" or "drugs"), checked (see the module
    doc); CatalogueError (or csv_input's CsvInputError) names the file, row and column."""
    if kind not in _REQUIRED:
        raise CatalogueError(f"kind must be services or drugs, got {kind!r}")
    check_catalogue_name(catalogue)
    csv_file = read_csv(path, SERVICE_COLUMNS if kind == "services" else DRUG_COLUMNS)
    missing = [c for c in _REQUIRED[kind] if c not in csv_file.header]
    if missing:
        raise CatalogueError(f"{path}: missing column(s) {', '.join(missing)}")
    parse = _service_entry if kind == "services" else _drug_entry
    entries = [
        parse(_Row(csv_file, number, record), catalogue)
        for number, record in enumerate(csv_file.rows(_AMOUNTS), start=2)
        if any(cell.strip() for cell in record)
    ]
    check_versions(entries, str(path))
    return entries


def check_catalogue_name(name: str) -> None:
    if not (0 < len(name) <= 40 and name.isascii() and all(c.isalnum() or c == "-" for c in name)):
        raise CatalogueError(f"catalogue name must be 1-40 letters, digits or '-', got {name!r}")


def _dates(row: _Row) -> tuple[date, date | None]:
    valid_from = row.day("valid_from")
    if valid_from is None:
        raise row.fail("valid_from", "empty")
    valid_to = row.day("valid_to")
    if valid_to is not None and valid_to < valid_from:
        raise row.fail("valid_to", f"{valid_to} is before valid_from {valid_from}")
    return valid_from, valid_to


def _service_entry(row: _Row, catalogue: str) -> Entry:
    kind_text = row.text("kind", ItemKind.SERVICE.value)
    if kind_text not in (ItemKind.SERVICE.value, ItemKind.SUPPLY.value):
        raise row.fail("kind", f"{kind_text!r}: service or supply")
    valid_from, valid_to = _dates(row)
    return Entry(
        catalogue=catalogue,
        kind=ItemKind(kind_text),
        code=row.required("code"),
        name=row.required("name"),
        unit=row.required("unit"),
        cost_group=row.required("cost_group"),
        hospital_price=row.required_amount("hospital_price"),
        insurance_price=row.required_amount("insurance_price"),
        service_rate=row.amount("service_rate"),
        payment_rate=row.rate("payment_rate"),
        tender=row.text("tender"),
        valid_from=valid_from,
        valid_to=valid_to,
        source=row.required("source"),
        row=row.number,
    )


def _drug_entry(row: _Row, catalogue: str) -> Entry:
    code = row.required("code")
    try:
        known = drug(code)
    except UnknownDrug:
        known = None

    def fact(column: str, from_catalogue: str | None) -> str:
        value = row.text(column) or from_catalogue
        if not value:
            raise row.fail(column, f"empty, and {code!r} is not in the prescribing catalogue")
        return value

    price = row.required_amount("price")
    valid_from, valid_to = _dates(row)
    facts = DrugFacts(
        bhyt_code=row.text("bhyt_code"),
        ingredient=" + ".join(known.ingredients) if known else fact("name", None),
        strength=fact("strength", known.strength if known else None),
        form=fact("form", known.form_vi if known else None),
        route=row.required("route_code"),
        registration=row.text("registration"),
        atc=known.atc if known else None,
        catalogue_code=known.code if known else None,
    )
    return Entry(
        catalogue=catalogue,
        kind=ItemKind.DRUG,
        code=code,
        name=fact("name", known.name_vi if known else None),
        unit=fact("unit", known.unit_vi if known else None),
        cost_group=row.text("cost_group", _DRUGS_GROUP),
        hospital_price=price,
        insurance_price=price,
        service_rate=None,
        payment_rate=row.rate("payment_rate"),
        tender=row.text("tender"),
        valid_from=valid_from,
        valid_to=valid_to,
        source=row.required("source"),
        drug=facts,
        row=row.number,
    )


def _where(entry: Entry, origin: str) -> str:
    return f"row {entry.row}" if entry.row else f"the version from {entry.version} in {origin}"


def check_versions(entries: Sequence[Entry], origin: str, stored: Sequence[Entry] = ()) -> None:
    """CatalogueError when two versions of one item share a day (entries of `origin`, or one of
    them and one of `stored` that it does not replace)."""
    replaced = {e.canonical for e in entries}
    everything = [*entries, *(e for e in stored if e.canonical not in replaced)]
    by_item: dict[tuple[str, ItemKind, str], list[Entry]] = defaultdict(list)
    for entry in everything:
        by_item[(entry.catalogue, entry.kind, entry.code)].append(entry)
    for (_, kind, code), versions in by_item.items():
        versions.sort(key=lambda e: e.valid_from)
        for earlier, later in pairwise(versions):
            if earlier.valid_to is None or earlier.valid_to >= later.valid_from:
                raise CatalogueError(
                    f"{origin}: {kind.value} {code!r}: {_where(earlier, 'the store')} "
                    f"({earlier.valid_from}–{earlier.valid_to or '…'}) overlaps "
                    f"{_where(later, 'the store')} ({later.valid_from}–{later.valid_to or '…'})"
                )


@cache
def shipped(name: str) -> Catalogue:
    """A price list shipped with the project: COMMUNE_STATION or DISTRICT."""
    if name not in (COMMUNE_STATION, DISTRICT):
        raise LookupError(f"no shipped price list {name!r}")
    folder = resources.files(__package__).joinpath("data", "catalogue")
    entries: list[Entry] = []
    for kind in ("services", "drugs"):
        with resources.as_file(folder.joinpath(f"{name}-{kind}.csv")) as path:
            entries += read_price_list(path, kind, name)
    return Catalogue(name, tuple(entries))


# ---- as FHIR ----


def json_number(value: Decimal) -> int | float:
    """A JSON number for an amount (đồng, up to 3 decimals), a quantity or a factor."""
    return int(value) if value == value.to_integral_value() else float(value)


def _component(kind: str, code: str, amount: Decimal | None = None,
               factor: Decimal | None = None) -> dict:  # fmt: skip
    component: dict = {"type": kind, "code": {"coding": [{"system": PRICE_KIND, "code": code}]}}
    if amount is not None:
        component["amount"] = {"value": json_number(amount), "currency": CURRENCY}
    if factor is not None:
        component["factor"] = json_number(factor / _HUNDRED)
    return component


def definition_resource(entry: Entry) -> dict:
    """The ChargeItemDefinition of one price version."""
    components = [
        _component("base", "bhyt", amount=entry.insurance_price),
        _component("informational", "hospital", amount=entry.hospital_price),
        _component("informational", "payment-rate", factor=entry.payment_rate),
    ]
    if entry.service_rate is not None:
        components.append(_component("informational", "service-rate", factor=entry.service_rate))
    extensions = [
        {"url": EXT_COST_GROUP, "valueCode": entry.cost_group},
        {"url": EXT_UNIT, "valueString": entry.unit},
    ]
    if entry.tender:
        extensions.append({"url": EXT_TENDER, "valueString": entry.tender})
    period = {"start": entry.valid_from.isoformat()}
    if entry.valid_to is not None:
        period["end"] = entry.valid_to.isoformat()
    resource = {
        "resourceType": "ChargeItemDefinition",
        "id": entry.definition_id,
        "extension": extensions,
        "url": entry.url,
        "version": entry.version,
        "title": entry.name,
        "status": "active",
        "description": entry.source,
        "code": {
            "coding": [{"system": CODE_SYSTEM[entry.kind], "code": entry.code}],
            "text": entry.name,
        },
        "effectivePeriod": period,
        "propertyGroup": [{"priceComponent": components}],
    }
    if entry.drug is not None:
        resource["instance"] = [{"reference": f"Medication/{entry.medication_id}"}]
    return resource


def medication_resource(entry: Entry) -> dict:
    """The Medication of a drug of the list (its facts, not its price)."""
    facts = entry.drug
    if facts is None:
        raise ValueError(f"{entry.code!r} is a {entry.kind.value}, not a drug")
    coding = []
    if facts.bhyt_code:
        coding.append({"system": DRUG, "code": facts.bhyt_code, "display": facts.ingredient})
    coding.append({"system": FACILITY_DRUG, "code": entry.code, "display": entry.name})
    if facts.catalogue_code:
        coding.append({"system": CATALOGUE_SYSTEM, "code": facts.catalogue_code})
    if facts.atc:
        coding.append({"system": ATC, "code": facts.atc})
    resource = {
        "resourceType": "Medication",
        "id": entry.medication_id,
        "extension": [
            {"url": EXT_ROUTE, "valueCode": facts.route},
            {"url": EXT_STRENGTH, "valueString": facts.strength},
            {"url": EXT_UNIT, "valueString": entry.unit},
        ],
        "code": {"coding": coding, "text": entry.name},
        "status": "active",
        "form": {"text": facts.form},
        "ingredient": [{"itemCodeableConcept": {"text": facts.ingredient}, "isActive": True}],
    }
    if facts.registration:
        resource["identifier"] = [{"system": REGISTRATION, "value": facts.registration}]
    return resource


def catalogue_resources(entries: Iterable[Entry]) -> list[dict]:
    """The Medications (one per drug, from its latest version) then the ChargeItemDefinitions."""
    entries = list(entries)
    latest: dict[str, Entry] = {}
    for entry in sorted(entries, key=lambda e: e.valid_from):
        if entry.drug is not None:
            latest[entry.medication_id] = entry
    return [medication_resource(e) for e in latest.values()] + [
        definition_resource(e) for e in entries
    ]


# ---- back from FHIR ----


def _extension(resource: dict, url: str) -> str:
    for extension in resource.get("extension", ()):
        if extension["url"] == url:
            return str(next(v for k, v in extension.items() if k.startswith("value")))
    return ""


def coded(concept: dict | None, system: str) -> str | None:
    """The code of a CodeableConcept in a system, None if it has none."""
    return next(
        (str(c["code"]) for c in (concept or {}).get("coding", ()) if c.get("system") == system),
        None,
    )


def drug_facts(medication: dict) -> DrugFacts:
    """The facts of a drug, from its Medication."""
    concept = medication.get("code", {})
    registration = next(
        (i["value"] for i in medication.get("identifier", ()) if i.get("system") == REGISTRATION),
        "",
    )
    return DrugFacts(
        bhyt_code=coded(concept, DRUG) or "",
        ingredient=medication.get("ingredient", [{}])[0]
        .get("itemCodeableConcept", {})
        .get("text", ""),
        strength=_extension(medication, EXT_STRENGTH),
        form=medication.get("form", {}).get("text", ""),
        route=_extension(medication, EXT_ROUTE),
        registration=registration,
        atc=coded(concept, ATC),
        catalogue_code=coded(concept, CATALOGUE_SYSTEM),
    )


def _decimal(value: float | int) -> Decimal:
    return Decimal(str(value))


def entry_of(definition: dict) -> Entry:
    """The price version a ChargeItemDefinition holds (a drug's facts are its Medication's,
    `drug_facts`: `drug` is None here)."""
    url = definition["url"]
    catalogue, kind, _ = url.removeprefix(f"{DEFINITION_URL}/").split("/", 2)
    components = {
        coded(c["code"], PRICE_KIND): c for c in definition["propertyGroup"][0]["priceComponent"]
    }

    def amount(code: str) -> Decimal:
        return _decimal(components[code]["amount"]["value"])

    def rate(code: str) -> Decimal | None:
        component = components.get(code)
        return None if component is None else (_decimal(component["factor"]) * _HUNDRED).normalize()

    period = definition["effectivePeriod"]
    concept = definition["code"]
    return Entry(
        catalogue=catalogue,
        kind=ItemKind(kind),
        code=concept["coding"][0]["code"],
        name=definition["title"],
        unit=_extension(definition, EXT_UNIT),
        cost_group=_extension(definition, EXT_COST_GROUP),
        hospital_price=amount("hospital"),
        insurance_price=amount("bhyt"),
        service_rate=rate("service-rate"),
        payment_rate=rate("payment-rate") or Decimal(0),
        tender=_extension(definition, EXT_TENDER),
        valid_from=date.fromisoformat(period["start"]),
        valid_to=date.fromisoformat(period["end"]) if "end" in period else None,
        source=definition.get("description", ""),
    )


# ---- the store ----


@dataclass(frozen=True)
class LoadReport:
    created: int
    updated: int
    unchanged: int


def stored_entries(store: ResourceStore, catalogue: str) -> list[Entry]:
    """The price versions of a list that the store holds."""
    prefix = f"{DEFINITION_URL}/{catalogue}/"
    with store.engine.connect() as conn:
        definitions = conn.execute(live("ChargeItemDefinition")).scalars().all()
    return [entry_of(d) for d in definitions if d.get("url", "").startswith(prefix)]


def load(store: ResourceStore, entries: Sequence[Entry], origin: str) -> LoadReport:
    """Write a price list's resources in one transaction: new ones created, changed ones
    updated (a new version of the resource), the same ones left. CatalogueError, before
    anything is written, when a version would overlap one the store holds."""
    catalogues = {e.catalogue for e in entries}
    stored = [e for name in catalogues for e in stored_entries(store, name)]
    check_versions(entries, origin, stored)
    wanted = catalogue_resources(entries)
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    with store.transaction() as writer:
        present = {}
        for resource_type in ("Medication", "ChargeItemDefinition"):
            ids = [r["id"] for r in wanted if r["resourceType"] == resource_type]
            for found in writer.conn.execute(live(resource_type, ids)).scalars():
                present[(resource_type, found["id"])] = found
        for resource in wanted:
            old = present.get((resource["resourceType"], resource["id"]))
            if old is None:
                writer.create(resource)
                counts["created"] += 1
            elif {k: v for k, v in old.items() if k != "meta"} != resource:  # not key order:
                # PostgreSQL's jsonb keeps its own
                writer.update(resource)
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
    return LoadReport(**counts)


def ensure_shipped(store: ResourceStore, name: str) -> int:
    """Load a shipped list unless the store holds all of it already; how many resources were
    created."""
    catalogue = shipped(name)
    wanted = catalogue_resources(catalogue.entries)
    with store.engine.connect() as conn:
        present = conn.execute(
            ids_in_use(("Medication", "ChargeItemDefinition"), [r["id"] for r in wanted])
        ).all()
    if len(present) == len(wanted):
        return 0
    return load(store, catalogue.entries, f"shipped {name}").created
