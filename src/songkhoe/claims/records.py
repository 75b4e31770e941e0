"""A claimable visit as FHIR R4 resources: building them from price-list entries, and reading
them back as the `claims.visit.Visit` that the XML is written from.

What a visit is made of, and where each claims field lives:
- Encounter (its id is MA_LK): `serviceProvider` the facility (its Organization holds the BHYT
  code and care level, `claims.providers`); `period` NGAY_VAO/NGAY_RA; `type` the SNOMED CT type
  the check-up form writes (`ncd.checkup_codes`: a check-up is not paid by the fund, Luật BHYT
  Art. 23) and MA_LOAI_KCB (`CARE_KIND`); `serviceType` MA_KHOA (`DEPARTMENT`); `priority` EM
  for an emergency; `participant` the doctor (MA_BAC_SI); `reasonCode` the ICD-10 diagnoses, the
  main one first (and `diagnosis` the Conditions when given); `hospitalization.admitSource`
  MA_DOITUONG_KCB (`ARRIVAL_CATEGORY`), `.origin` MA_NOI_DI, `.dischargeDisposition`
  KET_QUA_DTRI (`TREATMENT_RESULT`).
- ChargeItem per service or supply (XML3): `definitionCanonical` the price version
  (`claims.catalogue`), `quantity`, `enteredDate` NGAY_YL, `occurrenceDateTime` NGAY_TH_YL (an
  `occurrencePeriod` ending at NGAY_KQ when there is a result time), `context` the Encounter,
  `performer` the ordering doctor and the one who performed it (`CHARGE_ROLE`), `service` the
  test's result Observation.
- MedicationDispense per drug (XML2): `medicationReference` the price list's Medication, the
  price version as an extension (`EXT_PRICE`), `quantity`, `daysSupply`, `whenPrepared` NGAY_YL,
  `whenHandedOver` NGAY_TH_YL, `dosageInstruction` text LIEU_DUNG and patientInstruction
  CACH_DUNG, `performer` the prescriber, `context` the Encounter.
- Observation per test result (XML4), linked from the ChargeItem that charges the test.
- ClinicalImpression per entry of the clinical course (XML5).
- ServiceRequest for a referral out (XML13): identifier SO_CHUYENTUYEN, category SNOMED CT
  3457005 "Patient referral", performer the destination (MA_NOI_DEN), and the paper's texts.
- Appointment for the re-visit (XML14): identifier SO_GIAYHEN_KL, status booked, participants the
  Patient, the facility's Location and the doctor, `supportingInformation` the Encounter.
- The card is the Patient's Coverage (`claims.coverage`) in force on the day of arrival.
Clinicians are named by their practising-certificate number (`PRACTISING_CERTIFICATE`), with a
literal reference to their Practitioner when there is one.

Reading is batched: the Encounters of a period are one search, and the resources of up to
`CHUNK` visits at a time a handful of queries by id (no query per visit). Times come back in
Vietnam time. Reading does not audit: the caller that reads personal records on someone's behalf
does (`claims.export` writes an AuditEvent per batch of visits it reads, purpose HPAYMT).
"""

from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import Connection, Select

from songkhoe.claims import codes
from songkhoe.claims.catalogue import (
    CODE_SYSTEM,
    DrugFacts,
    Entry,
    ItemKind,
    coded,
    definition_id,
    drug_facts,
    entry_of,
    json_number,
)
from songkhoe.claims.coverage import (
    BHYT_FACILITY,
    FACILITY_PATTERN,
    card_in_force,
    coverage_copay_exempt_from,
    coverage_five_years_from,
    coverage_initial_facility,
)
from songkhoe.claims.providers import care_level, facility_code
from songkhoe.claims.visit import (
    CardInForce,
    CourseEntry,
    Diagnosis,
    DrugLine,
    Facility,
    Person,
    Purpose,
    Referral,
    Revisit,
    ServiceLine,
    TestResult,
    Visit,
)
from songkhoe.fhir.queries import live, referencing, tagged
from songkhoe.fhir.search import parse_query, search_query
from songkhoe.fhir.store import ResourceNotFound, ResourceStore
from songkhoe.fhir.systems import (
    ACT_CODE,
    BASE,
    CCCD,
    EXT_COMMUNE,
    ICD10,
    LOINC,
    OBSERVATION_CATEGORY,
    PHONE,
    SNOMED,
    UCUM,
)
from songkhoe.ncd.checkup_codes import CHECKUP_CODE
from songkhoe.places.catalog import UnknownPlace, commune
from songkhoe.places.facilities import facilities
from songkhoe.terminology import icd10, loinc
from songkhoe.timezones import VIETNAM

PRACTISING_CERTIFICATE = f"{BASE}/sid/practising-certificate"  # MA_BAC_SI
CARE_KIND = f"{BASE}/CodeSystem/bhyt-care-kind"  # MA_LOAI_KCB
ARRIVAL_CATEGORY = f"{BASE}/CodeSystem/bhyt-arrival-category"  # MA_DOITUONG_KCB
TREATMENT_RESULT = f"{BASE}/CodeSystem/bhyt-treatment-result"  # KET_QUA_DTRI
DEPARTMENT = f"{BASE}/CodeSystem/bhyt-department"  # MA_KHOA
CHARGE_ROLE = f"{BASE}/CodeSystem/charge-role"  # ordered-by (MA_BAC_SI), performed-by
REFERRAL_NUMBER = f"{BASE}/sid/bhyt-referral-number"  # SO_CHUYENTUYEN
REVISIT_NUMBER = f"{BASE}/sid/bhyt-revisit-number"  # SO_GIAYHEN_KL
EXT_PRICE = f"{BASE}/StructureDefinition/bhyt-price-definition"
EXT_REFERRAL = f"{BASE}/StructureDefinition/bhyt-referral"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
PRIORITY = "http://terminology.hl7.org/CodeSystem/v3-ActPriority"
REFERRAL_CATEGORY = {"coding": [{"system": SNOMED, "code": "3457005",
                                 "display": "Patient referral"}]}  # fmt: skip
CHUNK = 500
REVISIT_MINUTES = 15
_ORDERED, _PERFORMED = "ordered-by", "performed-by"
_ADMITTED = {codes.INPATIENT, codes.DAY_TREATMENT, codes.FACILITY_STAY,
             codes.INPATIENT_UNDER_4_HOURS}  # fmt: skip
_REFERRAL_TEXTS = ("signs", "course", "results", "treatment", "direction", "transport")


class UnknownFacility(LookupError):
    """No Organization has this id or BHYT code."""


class VisitError(ValueError):
    """A visit whose records cannot make a Visit (a facility without a BHYT code, a charge
    without its price); the message names the resource."""


@dataclass(frozen=True)
class Clinician:
    """A health worker as a claim names them: the practising-certificate number (MA_BAC_SI)."""

    certificate: str
    name: str = ""
    practitioner_id: str | None = None

    def reference(self) -> dict:
        reference: dict = {
            "identifier": {"system": PRACTISING_CERTIFICATE, "value": self.certificate}
        }
        if self.practitioner_id:
            reference["reference"] = f"Practitioner/{self.practitioner_id}"
        if self.name:
            reference["display"] = self.name
        return reference


def _certificate(reference: dict | None) -> str:
    identifier = (reference or {}).get("identifier", {})
    return identifier.get("value", "") if identifier.get("system") == PRACTISING_CERTIFICATE else ""


def _instant(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"a time without a time zone is ambiguous: {moment.isoformat()}")
    return moment.isoformat(timespec="seconds")


def _local(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(VIETNAM)


def _concept(system: str, code: str, display: str | None = None) -> dict:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def _coded(concept: dict | None, system: str) -> str:
    return coded(concept, system) or ""


def _ref(resource_type: str, resource_id: str) -> dict:
    return {"reference": f"{resource_type}/{resource_id}"}


def _id_of(reference: dict | None, resource_type: str) -> str | None:
    text = (reference or {}).get("reference", "")
    return text.removeprefix(f"{resource_type}/") if text.startswith(f"{resource_type}/") else None


def _checked(entry: Entry, kinds: set[ItemKind], on: datetime) -> None:
    _instant(on)  # an aware time, before its day is taken
    if entry.kind not in kinds:
        raise ValueError(f"{entry.code!r} is a {entry.kind.value}")
    if not entry.covers(on.astimezone(VIETNAM).date()):
        raise ValueError(
            f"{entry.code!r}: the price from {entry.version} does not cover "
            f"{on.astimezone(VIETNAM).date().isoformat()}"
        )


# ---- writing ----


def encounter_resource(
    encounter_id: str,
    patient_id: str,
    facility_id: str,
    *,
    arrived: datetime,
    left: datetime,
    types: Sequence[dict],
    care_kind: str,
    arrival_kind: str,
    doctor: Clinician,
    diagnoses: Sequence[str],
    outcome: str,
    department: str = "",
    location_id: str | None = None,
    emergency: bool = False,
    referred_from: str = "",
    condition_ids: Sequence[str] = (),
) -> dict:
    """The Encounter of a visit. `types`: its CodeableConcepts beside MA_LOAI_KCB (e.g. the
    follow-up type of `ncd.checkup_codes`); `diagnoses`: ICD-10 codes, the main one first
    (UnknownCode for one that is not ICD-10); `condition_ids`: their Conditions, same order."""
    if left < arrived:
        raise ValueError(f"the visit ends ({left}) before it starts ({arrived})")
    hospitalization: dict = {
        "admitSource": _concept(ARRIVAL_CATEGORY, arrival_kind,
                                codes.ARRIVAL_CATEGORIES.get(arrival_kind)),
        "dischargeDisposition": _concept(TREATMENT_RESULT, outcome,
                                         codes.TREATMENT_RESULTS.get(outcome)),
    }  # fmt: skip
    if referred_from:
        hospitalization["origin"] = {
            "identifier": {"system": BHYT_FACILITY, "value": referred_from}
        }
    encounter: dict = {
        "resourceType": "Encounter",
        "id": encounter_id,
        "status": "finished",
        "class": {"system": ACT_CODE, "code": "IMP" if care_kind in _ADMITTED else "AMB"},
        "type": [*types, _concept(CARE_KIND, care_kind, codes.CARE_KINDS.get(care_kind))],
        "subject": _ref("Patient", patient_id),
        "participant": [
            {
                "type": [_concept(PARTICIPATION, "ATND", "attender")],
                "individual": doctor.reference(),
            }
        ],  # fmt: skip
        "period": {"start": _instant(arrived), "end": _instant(left)},
        "reasonCode": [icd10.concept(code) for code in diagnoses],
        "hospitalization": hospitalization,
        "serviceProvider": _ref("Organization", facility_id),
    }
    if department:
        encounter["serviceType"] = _concept(DEPARTMENT, department)
    if emergency:
        encounter["priority"] = _concept(PRIORITY, "EM", "emergency")
    if condition_ids:
        encounter["diagnosis"] = [
            {"condition": _ref("Condition", cid), "rank": rank}
            for rank, cid in enumerate(condition_ids, start=1)
        ]
    if location_id:
        encounter["location"] = [{"location": _ref("Location", location_id)}]
    return encounter


def charge_item(
    charge_id: str,
    entry: Entry,
    *,
    patient_id: str,
    encounter_id: str,
    facility_id: str,
    quantity: Decimal,
    ordered: datetime,
    doctor: Clinician,
    performer: Clinician | None = None,
    performed: datetime | None = None,
    result: datetime | None = None,
    service: str | None = None,
) -> dict:
    """The ChargeItem of a service or supply at its price version of the order's day
    (ValueError for a drug or a version that does not cover it); `service`: the
    "Observation/id" of a test's result."""
    _checked(entry, {ItemKind.SERVICE, ItemKind.SUPPLY}, ordered)
    performers = [{"function": _concept(CHARGE_ROLE, _ORDERED), "actor": doctor.reference()}]
    if performer is not None:
        performers.append(
            {"function": _concept(CHARGE_ROLE, _PERFORMED), "actor": performer.reference()}
        )
    item: dict = {
        "resourceType": "ChargeItem",
        "id": charge_id,
        "definitionCanonical": [entry.canonical],
        "status": "billable",
        "code": {**_concept(CODE_SYSTEM[entry.kind], entry.code), "text": entry.name},
        "subject": _ref("Patient", patient_id),
        "context": _ref("Encounter", encounter_id),
        "performer": performers,
        "performingOrganization": _ref("Organization", facility_id),
        "quantity": {"value": json_number(quantity)},
        "enteredDate": _instant(ordered),
    }
    if performed is not None and result is not None:
        item["occurrencePeriod"] = {"start": _instant(performed), "end": _instant(result)}
    elif performed is not None:
        item["occurrenceDateTime"] = _instant(performed)
    if service:
        item["service"] = [{"reference": service}]
    return item


def medication_dispense(
    dispense_id: str,
    entry: Entry,
    *,
    patient_id: str,
    encounter_id: str,
    quantity: Decimal,
    ordered: datetime,
    dispensed: datetime,
    dose: str,
    directions: str,
    prescriber: Clinician,
    days_supply: int = 30,
    prescription_id: str | None = None,
) -> dict:
    """The MedicationDispense of a drug of the price list at its version of the order's day
    (ValueError for a service or a version that does not cover it)."""
    _checked(entry, {ItemKind.DRUG}, ordered)
    dispense: dict = {
        "resourceType": "MedicationDispense",
        "id": dispense_id,
        "extension": [{"url": EXT_PRICE, "valueCanonical": entry.canonical}],
        "status": "completed",
        "medicationReference": {**_ref("Medication", entry.medication_id), "display": entry.name},
        "subject": _ref("Patient", patient_id),
        "context": _ref("Encounter", encounter_id),
        "performer": [{"actor": prescriber.reference()}],
        "quantity": {"value": json_number(quantity), "unit": entry.unit},
        "daysSupply": {"value": days_supply, "unit": "d", "system": UCUM, "code": "d"},
        "whenPrepared": _instant(ordered),
        "whenHandedOver": _instant(dispensed),
        "dosageInstruction": [{"text": dose, "patientInstruction": directions}],
    }
    if prescription_id:
        dispense["authorizingPrescription"] = [_ref("MedicationRequest", prescription_id)]
    return dispense


def result_observation(
    observation_id: str,
    *,
    patient_id: str,
    encounter_id: str,
    code: dict,
    value: Decimal,
    unit: str,
    reported: datetime,
    reader: Clinician,
) -> dict:
    """The Observation of a test's result (XML4): `code` its CodeableConcept (MA_CHI_SO is its
    first coding's code), the value in UCUM `unit`."""
    return {
        "resourceType": "Observation",
        "id": observation_id,
        "status": "final",
        "category": [_concept(OBSERVATION_CATEGORY, "laboratory", "Laboratory")],
        "code": code,
        "subject": _ref("Patient", patient_id),
        "encounter": _ref("Encounter", encounter_id),
        "effectiveDateTime": _instant(reported),
        "issued": _instant(reported),
        "performer": [reader.reference()],
        "valueQuantity": {"value": json_number(value), "unit": unit, "system": UCUM, "code": unit},
    }


def course_entry(impression_id: str, entry: CourseEntry, *, patient_id: str,
                 encounter_id: str) -> dict:  # fmt: skip
    """The ClinicalImpression of one entry of the clinical course (XML5)."""
    return {
        "resourceType": "ClinicalImpression",
        "id": impression_id,
        "status": "completed",
        "subject": _ref("Patient", patient_id),
        "encounter": _ref("Encounter", encounter_id),
        "date": _instant(entry.at),
        "assessor": Clinician(entry.by).reference(),
        "summary": entry.text,
    }


def referral_request(
    request_id: str,
    referral: Referral,
    *,
    patient_id: str,
    encounter_id: str,
    diagnoses: Sequence[str],
    issued: datetime,
    destination_id: str | None = None,
) -> dict:
    """The ServiceRequest of a referral paper (XML13); `destination_id`: the Organization of
    `referral.to_facility` when known."""
    details: list[dict] = [
        {"url": "reason", "valueCode": referral.reason},
        {"url": "onPatientRequest", "valueBoolean": referral.on_patient_request},
    ]
    details += [
        {"url": name, "valueString": getattr(referral, name)}
        for name in _REFERRAL_TEXTS
        if getattr(referral, name)
    ]
    destination: dict = {"identifier": {"system": BHYT_FACILITY, "value": referral.to_facility}}
    if destination_id:
        destination["reference"] = f"Organization/{destination_id}"
    return {
        "resourceType": "ServiceRequest",
        "id": request_id,
        "extension": [{"url": EXT_REFERRAL, "extension": details}],
        "identifier": [{"system": REFERRAL_NUMBER, "value": referral.number}],
        "status": "active",
        "intent": "order",
        "category": [REFERRAL_CATEGORY],
        "subject": _ref("Patient", patient_id),
        "encounter": _ref("Encounter", encounter_id),
        "authoredOn": _instant(issued),
        "requester": Clinician(referral.signed_by).reference(),
        "performer": [destination],
        "reasonCode": [icd10.concept(code) for code in diagnoses],
    }


def revisit_appointment(
    appointment_id: str,
    revisit: Revisit,
    *,
    patient_id: str,
    location_id: str,
    encounter_id: str | None = None,
    at: time = time(7, 30),
) -> dict:
    """The Appointment of a re-visit (XML14): booked, for the Patient at the facility's Location
    on `revisit.on` at `at` (Vietnam time), with the doctor when `revisit.by` names one."""
    start = datetime.combine(revisit.on, at, VIETNAM)
    participants = [
        {"actor": _ref("Patient", patient_id), "status": "accepted"},
        {"actor": _ref("Location", location_id), "status": "accepted"},
    ]
    if revisit.by:
        participants.append({"actor": Clinician(revisit.by).reference(), "status": "accepted"})
    appointment: dict = {
        "resourceType": "Appointment",
        "id": appointment_id,
        "identifier": [{"system": REVISIT_NUMBER, "value": revisit.number}],
        "status": "booked",
        "start": _instant(start),
        "end": _instant(start + timedelta(minutes=REVISIT_MINUTES)),
        "participant": participants,
    }
    if encounter_id:
        appointment["supportingInformation"] = [_ref("Encounter", encounter_id)]
    return appointment


# ---- reading ----


def read_visit(store: ResourceStore, encounter_id: str) -> Visit:
    """The Visit of an Encounter; ResourceNotFound if there is none, VisitError if its records
    cannot make one."""
    with store.engine.connect() as conn:
        found = conn.execute(live("Encounter", [encounter_id])).scalars().all()
        if not found:
            raise ResourceNotFound(f"Encounter/{encounter_id} does not exist")
        return _Reader(conn).visits(found)[0]


def iter_visits(
    store: ResourceStore,
    *,
    facility: str | None = None,
    province: str | None = None,
    start: date,
    end: date,
) -> Iterator[Visit]:
    """The Visits of every finished Encounter that ended (its period's end, in Vietnam time)
    from `start` to `end` (both included) at a facility (`facility`: its Organization id or
    BHYT code) or at any facility of a province (`province`: the project's code; both given:
    that facility, if it is in that province), check-ups included, by Encounter id.
    ValueError for neither or an empty period, UnknownPlace for a bad province, UnknownFacility
    for an unknown facility."""
    if facility is None and province is None:
        raise ValueError("give a facility or a province")
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    with store.engine.connect() as conn:
        organizations = _organization_ids(conn, facility, province)
        encounters = _encounters_ending(conn, organizations, start, end)
    for first in range(0, len(encounters), CHUNK):
        with store.engine.connect() as conn:
            yield from _Reader(conn).visits(encounters[first : first + CHUNK])


def _organization_ids(conn: Connection, facility: str | None, province: str | None) -> list[str]:
    ids = None if province is None else {f.id for f in facilities(province)}
    if facility is None:
        return sorted(ids or ())
    found = [facility]
    if FACILITY_PATTERN.fullmatch(facility):
        by_code = conn.execute(tagged("Organization", "identifier", BHYT_FACILITY, facility))
        found = list(by_code.scalars()) or found
    if not conn.execute(live("Organization", found)).first():
        raise UnknownFacility(f"no facility {facility!r} (an Organization id or BHYT code)")
    return [f for f in found if ids is None or f in ids]


def _encounters_ending(conn: Connection, organizations: list[str], start: date,
                       end: date) -> list[dict]:  # fmt: skip
    if not organizations:
        return []
    wide = [start - timedelta(days=1), end + timedelta(days=1)]  # a local day is two UTC days
    request = parse_query(
        "Encounter",
        [
            ("service-provider", ",".join(f"Organization/{o}" for o in organizations)),
            ("status", "finished"),
            ("date", f"ge{wide[0].isoformat()}"),
            ("date", f"le{wide[1].isoformat()}"),
        ],
    )
    found = []
    for _, encounter in conn.execute(search_query("Encounter", request)):
        period = encounter.get("period", {})
        ended = period.get("end") or period.get("start")
        if ended and start <= _local(ended).date() <= end:
            found.append(encounter)
    return found


class _Reader:
    """Reads the resources of a list of Encounters together and makes their Visits."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _live(self, resource_type: str, among: Select | Collection[str]) -> list[dict]:
        return list(self.conn.execute(live(resource_type, among)).scalars())

    def _by_id(self, resource_type: str, ids: Collection[str | None]) -> dict[str, dict]:
        wanted = [i for i in ids if i]
        return {r["id"]: r for r in self._live(resource_type, wanted)} if wanted else {}

    def _linked(self, resource_type: str, param: str, ids: list[str]) -> dict[str, list[dict]]:
        """The resources of a type that point at these Encounters through `param`, by Encounter
        (its context, encounter or supportingInformation)."""
        found: dict[str, list[dict]] = defaultdict(list)
        pointing = referencing(resource_type, param, ids, "Encounter")
        for resource in self._live(resource_type, pointing):
            targets = [resource.get("context"), resource.get("encounter"),
                       *resource.get("supportingInformation", ())]  # fmt: skip
            for target in {_id_of(t, "Encounter") for t in targets} - {None}:
                found[str(target)].append(resource)
        return found

    def visits(self, encounters: Sequence[dict]) -> list[Visit]:
        ids = [e["id"] for e in encounters]
        patients = self._by_id("Patient", {_subject(e) for e in encounters})
        coverages: dict[str, list[dict]] = defaultdict(list)
        covering = referencing("Coverage", "beneficiary", list(patients), "Patient")
        for coverage in self._live("Coverage", covering):
            coverages[coverage["beneficiary"]["reference"].removeprefix("Patient/")].append(
                coverage
            )
        providers = {_id_of(e.get("serviceProvider"), "Organization") for e in encounters}
        weights = {
            o["encounter"]["reference"].removeprefix("Encounter/"): o
            for o in self.conn.execute(
                live(
                    "Observation",
                    tagged("Observation", "code", LOINC, loinc.BODY_WEIGHT.code),
                    referencing("Observation", "encounter", ids, "Encounter"),
                )
            ).scalars()
        }
        chunk = _Chunk(
            patients=patients,
            organizations=self._by_id("Organization", providers),
            coverages=coverages,
            charges=self._linked("ChargeItem", "context", ids),
            dispenses=self._linked("MedicationDispense", "context", ids),
            requests=self._linked("ServiceRequest", "encounter", ids),
            appointments=self._linked("Appointment", "supporting-info", ids),
            impressions=self._linked("ClinicalImpression", "encounter", ids),
            weights=weights,
        )
        charges = [c for cs in chunk.charges.values() for c in cs]
        dispenses = [d for ds in chunk.dispenses.values() for d in ds]
        canonicals = {c for charge in charges for c in charge.get("definitionCanonical", ())}
        canonicals |= {_price_of(d) for d in dispenses}
        prices = _Prices(
            definitions=self._by_id("ChargeItemDefinition", {definition_id(c) for c in canonicals}),
            medications=self._by_id(
                "Medication",
                {_id_of(d.get("medicationReference"), "Medication") for d in dispenses},
            ),
            results=self._by_id(
                "Observation",
                {_id_of(s, "Observation") for c in charges for s in c.get("service", ())},
            ),
        )
        return [chunk.visit(e, prices) for e in encounters]


@dataclass(frozen=True)
class _Chunk:
    """The resources of a chunk of Encounters, by Encounter (by id for Patients and
    Organizations, by Patient for Coverages)."""

    patients: dict[str, dict]
    organizations: dict[str, dict]
    coverages: dict[str, list[dict]]
    charges: dict[str, list[dict]]
    dispenses: dict[str, list[dict]]
    requests: dict[str, list[dict]]
    appointments: dict[str, list[dict]]
    impressions: dict[str, list[dict]]
    weights: dict[str, dict]

    def visit(self, encounter: dict, prices: "_Prices") -> Visit:
        key = encounter["id"]
        patient_id = _subject(encounter)
        patient = self.patients.get(patient_id)
        if patient is None:
            raise VisitError(f"Encounter/{key}: no Patient/{patient_id}")
        arrived = _local(encounter["period"]["start"])
        types = encounter.get("type", [])
        hospitalization = encounter.get("hospitalization", {})
        diagnoses = [_diagnosis(c) for c in encounter.get("reasonCode", ())]
        charges = sorted(self.charges.get(key, []), key=_charge_order)
        referral = next((r for r in self.requests.get(key, []) if _is_referral(r)), None)
        revisit = next((a for a in self.appointments.get(key, []) if _is_revisit(a)), None)
        weight = self.weights.get(key)
        impressions = sorted(self.impressions.get(key, []), key=lambda i: (i["date"], i["id"]))
        return Visit(
            encounter_id=key,
            facility=_facility(encounter, self.organizations),
            department=_coded(encounter.get("serviceType"), DEPARTMENT),
            person=_person(patient),
            card=_card(self.coverages.get(patient_id, []), arrived.date()),
            purpose=_purpose(types),
            kind=next((c for t in types if (c := _coded(t, CARE_KIND))), ""),
            arrival_kind=_coded(hospitalization.get("admitSource"), ARRIVAL_CATEGORY),
            emergency=_coded(encounter.get("priority"), PRIORITY) == "EM",
            referred_from=hospitalization.get("origin", {}).get("identifier", {}).get("value", ""),
            arrived=arrived,
            left=_local(encounter["period"].get("end", encounter["period"]["start"])),
            main_diagnosis=diagnoses[0] if diagnoses else None,
            other_diagnoses=tuple(diagnoses[1:]),
            outcome=_coded(hospitalization.get("dischargeDisposition"), TREATMENT_RESULT),
            doctor=next(
                (_certificate(p.get("individual")) for p in encounter.get("participant", ())), ""
            ),
            weight_kg=Decimal(str(weight["valueQuantity"]["value"])) if weight else None,
            drugs=tuple(
                prices.drug(d) for d in sorted(self.dispenses.get(key, []), key=_dispense_order)
            ),
            services=tuple(prices.service(c) for c in charges),
            tests=tuple(
                prices.result(c, link)
                for c in charges
                for link in c.get("service", ())
                if _id_of(link, "Observation") in prices.results
            ),
            course=tuple(_course(i) for i in impressions),
            referral=None if referral is None else _referral(referral),
            revisit=None if revisit is None else _revisit(revisit),
        )


@dataclass(frozen=True)
class _Prices:
    """The price versions, Medications and result Observations of a chunk, by id (each price
    version and drug parsed once)."""

    definitions: dict[str, dict]
    medications: dict[str, dict]
    results: dict[str, dict]
    _entries: dict[str, Entry] = field(default_factory=dict)
    _drugs: dict[str, DrugFacts] = field(default_factory=dict)

    def entry(self, canonical: str, owner: str) -> Entry:
        key = definition_id(canonical)
        if key not in self._entries:
            found = self.definitions.get(key)
            if found is None:
                raise VisitError(f"{owner}: no ChargeItemDefinition {canonical}")
            self._entries[key] = entry_of(found)
        return self._entries[key]

    def service(self, charge: dict) -> ServiceLine:
        owner = f"ChargeItem/{charge['id']}"
        entry = self.entry(charge["definitionCanonical"][0], owner)
        roles = {_coded(p.get("function"), CHARGE_ROLE): p["actor"] for p in charge["performer"]}
        period = charge.get("occurrencePeriod", {})
        performed = charge.get("occurrenceDateTime") or period.get("start")
        return ServiceLine(
            code=entry.code if entry.kind is ItemKind.SERVICE else "",
            supply_code=entry.code if entry.kind is ItemKind.SUPPLY else "",
            cost_group=entry.cost_group,
            name=entry.name,
            unit=entry.unit,
            quantity=Decimal(str(charge["quantity"]["value"])),
            hospital_price=entry.hospital_price,
            insurance_price=entry.insurance_price,
            service_rate=entry.service_rate if entry.service_rate is not None else Decimal(100),
            payment_rate=entry.payment_rate,
            tender=entry.tender,
            ordered=_local(charge["enteredDate"]),
            performed=_local(performed) if performed else None,
            result=_local(period["end"]) if "end" in period else None,
            doctor=_certificate(roles.get(_ORDERED)),
            performer=_certificate(roles.get(_PERFORMED)),
        )

    def drug(self, dispense: dict) -> DrugLine:
        owner = f"MedicationDispense/{dispense['id']}"
        medication = self.medications.get(
            _id_of(dispense.get("medicationReference"), "Medication") or ""
        )
        if medication is None:
            raise VisitError(f"{owner}: its Medication is not in the store")
        entry = self.entry(_price_of(dispense), owner)
        facts = self._drugs.get(medication["id"]) or self._drugs.setdefault(
            medication["id"], drug_facts(medication)
        )
        dosage = dispense.get("dosageInstruction", [{}])[0]
        return DrugLine(
            code=facts.bhyt_code,
            name=entry.name,
            unit=entry.unit,
            strength=facts.strength,
            route=facts.route,
            form=facts.form,
            dose=dosage.get("text", ""),
            directions=dosage.get("patientInstruction", ""),
            registration=facts.registration,
            tender=entry.tender,
            cost_group=entry.cost_group,
            scope=codes.IN_SCOPE if entry.payment_rate > 0 else codes.OUT_OF_SCOPE,
            quantity=Decimal(str(dispense["quantity"]["value"])),
            unit_price=entry.insurance_price,
            payment_rate=entry.payment_rate,
            ordered=_local(dispense["whenPrepared"]),
            dispensed=_local(dispense["whenHandedOver"]),
            prescriber=_certificate(dispense.get("performer", [{}])[0].get("actor")),
        )

    def result(self, charge: dict, link: dict) -> TestResult:
        observation = self.results[link["reference"].removeprefix("Observation/")]
        coding = observation["code"]["coding"][0]
        quantity = observation.get("valueQuantity", {})
        reported = observation.get("issued") or observation["effectiveDateTime"]
        return TestResult(
            service_code=charge["code"]["coding"][0]["code"],
            indicator_code=coding["code"],
            name=observation["code"].get("text") or coding.get("display", ""),
            value=str(Decimal(str(quantity["value"]))) if quantity else "",
            unit=quantity.get("unit", ""),
            reported=_local(reported),
            reader=next(
                (c for p in observation.get("performer", ()) if (c := _certificate(p))), ""
            ),
        )


def _purpose(types: list[dict]) -> Purpose:
    """A check-up is coded as the check-up form codes it; any other visit is for treatment."""
    if any(_coded(t, SNOMED) == CHECKUP_CODE for t in types):
        return Purpose.CHECKUP
    return Purpose.TREATMENT


def _course(impression: dict) -> CourseEntry:
    return CourseEntry(
        text=impression.get("summary", ""),
        at=_local(impression["date"]),
        by=_certificate(impression.get("assessor")),
    )


def _subject(encounter: dict) -> str:
    return encounter["subject"]["reference"].removeprefix("Patient/")


def _price_of(dispense: dict) -> str:
    for extension in dispense.get("extension", ()):
        if extension["url"] == EXT_PRICE:
            return str(extension["valueCanonical"])
    raise VisitError(f"MedicationDispense/{dispense['id']}: no price version ({EXT_PRICE})")


def _charge_order(charge: dict) -> tuple[str, str]:
    return (charge["enteredDate"], charge["id"])


def _dispense_order(dispense: dict) -> tuple[str, str]:
    return (dispense["whenPrepared"], dispense["id"])


def _facility(encounter: dict, organizations: dict[str, dict]) -> Facility:
    organization_id = encounter["serviceProvider"]["reference"].removeprefix("Organization/")
    organization = organizations.get(organization_id)
    code = None if organization is None else facility_code(organization)
    level = None if organization is None else care_level(organization)
    if organization is None or code is None or level is None:
        raise VisitError(
            f"Encounter/{encounter['id']}: Organization/{organization_id} has no BHYT facility "
            "code or care level (claims.providers)"
        )
    return Facility(code=code, name=organization.get("name", ""), level=level,
                    province_code=code[:2], organization=organization_id)  # fmt: skip


def _person(patient: dict) -> Person:
    address = (patient.get("address") or [{}])[0]
    commune_code = next(
        (e["valueCode"] for e in address.get("extension", ()) if e["url"] == EXT_COMMUNE), None
    )
    try:
        province_code = commune(commune_code).province_code if commune_code else None
    except UnknownPlace:
        province_code = None
    parts = [*address.get("line", ()), address.get("city"), address.get("state")]
    return Person(
        id=patient["id"],
        name=(patient.get("name") or [{}])[0].get("text", ""),
        birth_date=date.fromisoformat(patient["birthDate"]),
        gender=patient.get("gender", "unknown"),
        citizen_id=next(
            (i["value"] for i in patient.get("identifier", ()) if i["system"] == CCCD), None
        ),
        address=", ".join(p for p in parts if p),
        province_code=province_code,
        commune_code=commune_code,
        phone=next((t["value"] for t in patient.get("telecom", ()) if t["system"] == PHONE), None),
    )


def _card(coverages: list[dict], on: date) -> CardInForce | None:
    valid = [c for c in coverages if c.get("status") == "active" and card_in_force(c, on)]
    if not valid:
        return None
    coverage = max(valid, key=lambda c: (c["period"]["start"], c["id"]))
    return CardInForce(
        number=coverage["subscriberId"],
        initial_facility=coverage_initial_facility(coverage) or "",
        valid_from=date.fromisoformat(coverage["period"]["start"]),
        valid_to=date.fromisoformat(coverage["period"]["end"]),
        five_years_from=coverage_five_years_from(coverage),
        copay_exempt_from=coverage_copay_exempt_from(coverage),
    )


def _diagnosis(concept: dict) -> Diagnosis:
    code = _coded(concept, ICD10)
    coding = concept["coding"][0]
    return Diagnosis(code=code, name=concept.get("text") or coding.get("display", ""))


def _is_referral(request: dict) -> bool:
    return any(i["system"] == REFERRAL_NUMBER for i in request.get("identifier", ()))


def _is_revisit(appointment: dict) -> bool:
    return appointment.get("status") not in ("cancelled", "entered-in-error") and any(
        i["system"] == REVISIT_NUMBER for i in appointment.get("identifier", ())
    )


def _referral(request: dict) -> Referral:
    details = {
        e["url"]: next(v for k, v in e.items() if k.startswith("value"))
        for x in request.get("extension", ())
        if x["url"] == EXT_REFERRAL
        for e in x["extension"]
    }
    number = next(i["value"] for i in request["identifier"] if i["system"] == REFERRAL_NUMBER)
    destination = request.get("performer", [{}])[0].get("identifier", {})
    return Referral(
        number=number,
        to_facility=destination.get("value", ""),
        reason=str(details.get("reason", "")),
        signs=str(details.get("signs", "")),
        course=str(details.get("course", "")),
        results=str(details.get("results", "")),
        treatment=str(details.get("treatment", "")),
        direction=str(details.get("direction", "")),
        transport=str(details.get("transport", "")),
        signed_by=_certificate(request.get("requester")),
        on_patient_request=bool(details.get("onPatientRequest", False)),
    )


def _revisit(appointment: dict) -> Revisit:
    number = next(i["value"] for i in appointment["identifier"] if i["system"] == REVISIT_NUMBER)
    by = next((c for p in appointment["participant"] if (c := _certificate(p.get("actor")))), "")
    return Revisit(number=number, on=_local(appointment["start"]).date(), by=by)
