"""How a person is named on pages and documents: the first HumanName of a Patient or
Practitioner (http://hl7.org/fhir/R4/datatypes.html#HumanName), its `text` if given, else family
name then given names, the Vietnamese order."""


def full_name(person: dict) -> str:
    name = (person.get("name") or [{}])[0]
    return name.get("text") or " ".join([name.get("family", ""), *name.get("given", [])]).strip()
