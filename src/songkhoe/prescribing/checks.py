"""Checks before a prescription is signed: duplicate therapy, allergies on record and well-known
interactions (`data/interactions.csv`, each row with its source: BNF Appendix 1, Stockley's Drug
Interactions, or the FDA label named). Pure functions: medicines in, issues out.

- Duplicate ingredient: the same active ingredient twice (two lines, or a line and a medicine the
  person already takes), combinations included (amoxicillin and amoxicillin + clavulanic acid).
- Duplicate therapeutic class: two different ingredients of one ATC level-4 chemical subgroup
  (enalapril and perindopril, both C09AA).
- Allergy: an AllergyIntolerance whose ATC code is a prefix of the drug's (J01C, penicillins, covers
  amoxicillin), or whose text names the ingredient or its class.
"""

import csv
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import combinations

from songkhoe.prescribing.catalogue import Drug

# Words a health worker writes on an allergy record, and the ATC group they mean.
ALLERGY_CLASSES = {
    "penicillin": "J01C",
    "penicilin": "J01C",
    "cephalosporin": "J01D",
    "sulfonamide": "J01E",
    "sulfamid": "J01E",
    "nsaid": "M01A",
    "khang viem khong steroid": "M01A",
    "aspirin": "B01AC06",
    "statin": "C10AA",
}


@dataclass(frozen=True, slots=True)
class Medicine:
    """A medicine to check: a catalogue line, or one already on the person's record."""

    label: str
    atc: str
    ingredients: tuple[str, ...]
    new: bool

    @property
    def atc_class(self) -> str | None:
        """ATC level 4 (chemical subgroup), e.g. C09AA for enalapril; None for a code given
        only to a higher level."""
        return self.atc[:5] if len(self.atc) >= 7 else None

    @classmethod
    def of(cls, drug: Drug, *, new: bool = True) -> "Medicine":
        return cls(drug.label, drug.atc, drug.ingredients, new)


@dataclass(frozen=True, slots=True)
class Allergy:
    atc_codes: tuple[str, ...]
    text: str


@dataclass(frozen=True, slots=True)
class Issue:
    key: str  # stable, for recording its acknowledgement
    kind: str  # interaction | duplicate-ingredient | duplicate-class | allergy
    severity: str  # contraindicated | major | moderate
    message_vi: str
    message_en: str
    source: str
    medicines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Rule:
    key: str
    atc_a: tuple[str, ...]
    atc_b: tuple[str, ...]
    severity: str
    effect_vi: str
    effect_en: str
    source: str

    def matches(self, a: str, b: str) -> bool:
        def hit(code: str, prefixes: tuple[str, ...]) -> bool:
            return any(code.startswith(p) for p in prefixes)

        return (hit(a, self.atc_a) and hit(b, self.atc_b)) or (
            hit(b, self.atc_a) and hit(a, self.atc_b)
        )


@cache
def interaction_rules() -> tuple[Rule, ...]:
    text = resources.files(__package__).joinpath("data", "interactions.csv").read_text("utf-8")
    return tuple(
        Rule(
            row["key"],
            tuple(row["atc_a"].split("|")),
            tuple(row["atc_b"].split("|")),
            row["severity"],
            row["effect_vi"],
            row["effect_en"],
            row["source"],
        )
        for row in csv.DictReader(text.splitlines())
    )


def folded(text: str) -> str:
    """Lower case without Vietnamese diacritics, for matching free text."""
    text = text.lower().replace("đ", "d")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def _pairs(medicines: list[Medicine]):
    """Pairs with at least one new medicine (old pairs were checked when they were signed)."""
    return ((a, b) for a, b in combinations(medicines, 2) if a.new or b.new)


def interactions(medicines: list[Medicine]) -> list[Issue]:
    issues = []
    for a, b in _pairs(medicines):
        for rule in interaction_rules():
            if rule.matches(a.atc, b.atc):
                issues.append(
                    Issue(
                        f"interaction:{rule.key}:{a.atc}:{b.atc}",
                        "interaction",
                        rule.severity,
                        f"Tương tác {a.label} – {b.label}: {rule.effect_vi}",
                        f"Interaction {a.label} – {b.label}: {rule.effect_en}",
                        rule.source,
                        (a.label, b.label),
                    )
                )
    return issues


def duplicates(medicines: list[Medicine]) -> list[Issue]:
    issues = []
    for a, b in _pairs(medicines):
        shared = sorted(set(a.ingredients) & set(b.ingredients))
        if shared:
            issues.append(
                Issue(
                    f"duplicate-ingredient:{'+'.join(shared)}:{a.atc}:{b.atc}",
                    "duplicate-ingredient",
                    "major",
                    f"Trùng hoạt chất {', '.join(shared)}: {a.label} và {b.label}",
                    f"Duplicate ingredient {', '.join(shared)}: {a.label} and {b.label}",
                    "WHO ATC/DDD Index: same active ingredient",
                    (a.label, b.label),
                )
            )
        elif a.atc_class is not None and a.atc_class == b.atc_class:
            group = a.atc_class
            issues.append(
                Issue(
                    f"duplicate-class:{group}:{a.atc}:{b.atc}",
                    "duplicate-class",
                    "moderate",
                    f"Trùng nhóm điều trị (ATC {group}): {a.label} và {b.label}",
                    f"Duplicate therapeutic class (ATC {group}): {a.label} and {b.label}",
                    "WHO ATC/DDD Index: same chemical subgroup (level 4)",
                    (a.label, b.label),
                )
            )
    return issues


def allergy_hits(medicines: list[Medicine], allergies: list[Allergy]) -> list[Issue]:
    issues = []
    for m in (m for m in medicines if m.new):
        for allergy in allergies:
            text = folded(allergy.text)
            groups = set(allergy.atc_codes) | {
                atc for word, atc in ALLERGY_CLASSES.items() if word in text
            }
            named = any(folded(i) in text for i in m.ingredients)
            if named or any(m.atc.startswith(g) for g in groups):
                issues.append(
                    Issue(
                        f"allergy:{m.atc}:{folded(allergy.text)[:40]}",
                        "allergy",
                        "contraindicated",
                        f"Dị ứng đã ghi nhận ({allergy.text}): {m.label}",
                        f"Recorded allergy ({allergy.text}): {m.label}",
                        "AllergyIntolerance trong hồ sơ người bệnh",
                        (m.label,),
                    )
                )
    return issues


def check(medicines: list[Medicine], allergies: list[Allergy]) -> list[Issue]:
    """Every issue of a prescription, most severe first."""
    order = {"contraindicated": 0, "major": 1, "moderate": 2}
    issues = allergy_hits(medicines, allergies) + interactions(medicines) + duplicates(medicines)
    return sorted(issues, key=lambda i: order[i.severity])
