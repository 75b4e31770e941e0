"""Identifier systems and code systems used across Sống Khỏe.

Vietnam has no published FHIR NamingSystem for its national identifiers yet, so the project's own
systems live under one base URL; international code systems use their HL7-registered URIs
(https://terminology.hl7.org/external_terminologies.html).
"""

BASE = "https://fhir.songkhoe.vn"

# Identifier systems (Vietnam)
CCCD = f"{BASE}/sid/cccd"  # Căn cước công dân: 12-digit citizen identity number
BHYT = f"{BASE}/sid/bhyt"  # Thẻ bảo hiểm y tế: health-insurance card number
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
