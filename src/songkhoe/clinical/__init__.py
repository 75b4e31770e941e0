"""People and what the clinical workflows (telehealth consultations and referrals,
e-prescriptions) share: finding people and who looked at their record (`people`), registering a
person (`registration`, with the identity-number checks of `identity`), reading and writing a
person's record on behalf of a caller (`records`), health workers as FHIR Practitioners
(`staff`), printed documents (`documents`), and the pages about people (`pages`)."""
