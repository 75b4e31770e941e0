"""Vietnam's places: the 34 provinces and 3,321 communes of the 2025 administrative map, their
boundaries, and the health facilities that serve them, as dataclasses and as FHIR R4 resources.

- `catalog`: provinces, communes, boundaries (package data, see `data/SOURCE.md`).
- `facilities`: commune health stations, regional, provincial and central hospitals.
- `resources`: all of the above as FHIR R4 Location and Organization dicts.
- `former_provinces`: the codes of the 63 provinces before 2025 (the birth place in a CCCD).
"""
