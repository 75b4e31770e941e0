"""Identifier systems and code systems used across Sống Khỏe.

The citizen identity number and the health-insurance card use the NamingSystems of the Ministry
of Health's VN Core FHIR IG (draft `hl7.fhir.vn.core`, canonical http://fhir.ehealth.gov.vn/core:
`NamingSystem.sid-national-id.xml`, "thẻ căn cước công dân", and
`NamingSystem.sid-insurance_number.xml`). Before, the project used systems of its own for both
(`LEGACY_SYSTEMS`): migration 0009 rewrote what was stored, and search and input accept the old
ones through the 0.x releases (`current_system`), to be dropped at 1.0. The project's other
systems live under one base URL; international code systems use their HL7-registered URIs
(https://terminology.hl7.org/external_terminologies.html).
"""

BASE = "https://fhir.songkhoe.vn"
VN_CORE = "http://fhir.ehealth.gov.vn/core"

# Identifier systems (Vietnam)
CCCD = f"{VN_CORE}/sid/national_id"  # Căn cước công dân: 12-digit citizen identity number
BHYT = f"{VN_CORE}/sid/insurance_number"  # Thẻ bảo hiểm y tế: health-insurance card number
LEGACY_SYSTEMS = {f"{BASE}/sid/cccd": CCCD, f"{BASE}/sid/bhyt": BHYT}
"""The project's own systems before VN Core, to the VN Core ones."""


def current_system(system: str) -> str:
    """The system to store and search for `system`: a legacy one's VN Core successor."""
    return LEGACY_SYSTEMS.get(system, system)


HOUSEHOLD = f"{BASE}/sid/household"  # household (hộ gia đình) number within a commune
PROVINCE_CODE = f"{BASE}/sid/province-code"  # GSO administrative code, 2 digits
COMMUNE_CODE = f"{BASE}/sid/commune-code"  # GSO administrative code, 5 digits
FACILITY_CODE = f"{BASE}/sid/facility-code"  # health facility code
PHONE = "phone"

# Extensions
EXT_COMMUNE = f"{BASE}/StructureDefinition/address-commune-code"  # valueCode: commune code

# Code systems
LOINC = "http://loinc.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
ATC = "http://www.whocc.no/atc"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"  # Encounter.class (AMB, HH, ...)
LOCATION_PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
