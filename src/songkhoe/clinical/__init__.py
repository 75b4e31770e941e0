"""What the clinical workflows (telehealth consultations and referrals, e-prescriptions) share:
reading and writing a person's record on behalf of a caller (`records`), health workers as FHIR
Practitioners (`staff`), printed documents (`documents`) and their pages' helpers (`pages`)."""
