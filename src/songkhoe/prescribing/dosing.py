"""A prescription line: dose x times a day x days, the quantity to dispense and the instruction
as written on a Vietnamese prescription ("Uống 1 viên x 2 lần/ngày, 30 ngày, sau ăn")."""

import math
from dataclasses import dataclass

from songkhoe.prescribing.catalogue import ROUTES, Drug, UnknownDrug, drug

MAX_DAYS = 90  # outpatient courses are 30 days at most, longer for listed chronic diseases
MAX_NOTE = 200


class InvalidLine(ValueError):
    """A prescription line that cannot be prescribed; the message names the line and field."""


@dataclass(frozen=True, slots=True)
class Line:
    drug: Drug
    dose: float  # doses per administration (tablets, puffs, IU, sachets)
    per_day: int
    days: int
    note: str = ""  # when and how: "sau ăn", "buổi sáng"

    @property
    def dose_unit(self) -> str:
        return {"inhalation": "nhát", "subcutaneous": "IU"}.get(self.drug.route, self.drug.unit_vi)

    @property
    def quantity(self) -> int:
        """Units to dispense: every dose of the course, rounded up to whole units."""
        doses = self.dose * self.per_day * self.days
        return math.ceil(round(doses / self.drug.doses_per_unit, 6))

    @property
    def instruction(self) -> str:
        route = ROUTES[self.drug.route][0]
        text = f"{route} {self.dose:g} {self.dose_unit} x {self.per_day} lần/ngày, {self.days} ngày"
        return f"{text}, {self.note}" if self.note else text


def parse_line(n: int, code: str, dose: str, per_day: str, days: str, note: str = "") -> Line:
    """A line from form fields; InvalidLine names line `n` and the field at fault."""

    def number(field: str, text: str, cast, low, high):
        try:
            value = cast(text.replace(",", "."))
        except ValueError:
            raise InvalidLine(f"line {n}, {field}: not a number: {text!r}") from None
        if not low <= value <= high:
            raise InvalidLine(f"line {n}, {field}: between {low} and {high}, got {text}")
        return value

    try:
        item = drug(code.strip())
    except UnknownDrug as exc:
        raise InvalidLine(f"line {n}, drug: {exc}") from None
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise InvalidLine(f"line {n}, note: at most {MAX_NOTE} characters, got {len(note)}")
    return Line(
        drug=item,
        dose=number("dose", dose, float, 0.25, 100),
        per_day=number("per_day", per_day, int, 1, 24),
        days=number("days", days, int, 1, MAX_DAYS),
        note=note,
    )
