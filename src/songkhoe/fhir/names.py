"""How a person is named on pages and documents. A Patient or Practitioner has any number of
HumanNames (http://hl7.org/fhir/R4/datatypes.html#HumanName), none included: the one shown is
the official name, else the usual one, else the first (a name marked old or maiden comes last),
among those that say something; of that name its `text` if given, else the family name then the
given names, the Vietnamese order. Without any, pages and documents show `NO_NAME`."""

NO_NAME = ("(chưa có tên)", "(no name)")  # (Vietnamese, English)
USE_RANK = {"official": 0, "usual": 1, "old": 3, "maiden": 3}  # any other use: 2


def _spelled(name: dict) -> str:
    """One HumanName as text: its `text`, else family then given names ("" if it has none; a
    part may be absent or null, with only an extension in its place)."""
    parts = [name.get("family"), *(name.get("given") or [])]
    return (name.get("text") or " ".join(part for part in parts if part)).strip()


def full_name(person: dict) -> str:
    """The name to show for a person (see the module's docstring); "" when none says anything."""
    ranked = [(USE_RANK.get(n.get("use"), 2), _spelled(n)) for n in person.get("name") or []]
    return min((r for r in ranked if r[1]), key=lambda r: r[0], default=(0, ""))[1]
