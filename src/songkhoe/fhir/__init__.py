"""FHIR R4: the resource store, search and indexing, the queries domains ask of it, and the /fhir
API."""
