"""A synthetic Vietnamese population as FHIR R4 resources, for demos, tests and benchmarks.

`population.generate(...)` yields batches of Patients with their households, check-ups, risk
factors, conditions and treatment; `demography` and `clinical` hold the models it draws from.
"""
