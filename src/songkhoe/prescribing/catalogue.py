"""The starter drug catalogue: essential NCD and primary-care medicines (`data/catalogue.csv`).

Selection: Vietnam's list of chemical medicines paid by health insurance (Thông tư 20/2022/TT-BYT)
at commune level, cross-checked with the WHO Model List of Essential Medicines (23rd list, 2023).
ATC codes: WHO Collaborating Centre for Drug Statistics Methodology, ATC/DDD Index 2024
(https://atcddd.fhi.no/atc_ddd_index/). Vietnamese spellings follow Dược thư Quốc gia Việt Nam.
`doses_per_unit` is how many doses one dispensed unit holds (a tablet 1, a 200-puff inhaler 200,
a 10 ml vial of 100 IU/ml insulin 1000 IU), used to turn dose x frequency x days into a quantity.
"""

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

from songkhoe.fhir.systems import ATC, BASE

CATALOGUE_SYSTEM = f"{BASE}/CodeSystem/drug-catalogue"
ROUTES = {"oral": ("Uống", "Oral"), "inhalation": ("Hít", "Inhalation"),
          "subcutaneous": ("Tiêm dưới da", "Subcutaneous")}  # fmt: skip


class UnknownDrug(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Drug:
    code: str
    ingredients: tuple[str, ...]  # INN, lower case
    name_vi: str
    strength: str
    form_vi: str
    route: str  # a key of ROUTES
    atc: str
    unit_vi: str  # the dispensed unit (đơn vị tính)
    doses_per_unit: int

    @property
    def label(self) -> str:
        """The prescription line: INN (Vietnamese spelling), strength, form."""
        return f"{self.name_vi} {self.strength}, {self.form_vi}"

    def concept(self) -> dict:
        """The medicationCodeableConcept: the catalogue code and the ATC code."""
        return {
            "coding": [
                {"system": CATALOGUE_SYSTEM, "code": self.code, "display": self.label},
                {"system": ATC, "code": self.atc, "display": " + ".join(self.ingredients)},
            ],
            "text": self.label,
        }


@cache
def catalogue() -> tuple[Drug, ...]:
    text = resources.files(__package__).joinpath("data", "catalogue.csv").read_text("utf-8")
    return tuple(
        Drug(
            code=row["code"],
            ingredients=tuple(row["ingredients"].split(";")),
            name_vi=row["name_vi"],
            strength=row["strength"],
            form_vi=row["form_vi"],
            route=row["route"],
            atc=row["atc"],
            unit_vi=row["unit_vi"],
            doses_per_unit=int(row["doses_per_unit"]),
        )
        for row in csv.DictReader(text.splitlines())
    )


@cache
def _by_code() -> dict[str, Drug]:
    return {d.code: d for d in catalogue()}


def drug(code: str) -> Drug:
    """The catalogue entry with this code; UnknownDrug names it otherwise."""
    found = _by_code().get(code)
    if found is None:
        raise UnknownDrug(f"unknown drug code {code!r} (not in the catalogue)")
    return found


def by_atc(atc: str) -> Drug | None:
    """The first catalogue entry with this ATC code (for medicines already on the record)."""
    return next((d for d in catalogue() if d.atc == atc), None)
