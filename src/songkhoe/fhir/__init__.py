"""FHIR R4: the resource store, search indexing, and (later) the /fhir API."""
