"""Form fields declared once, checked twice: the same `Field` gives the browser its HTML
constraints (required, min, max, step, pattern; templates/_form.html) and the server its check
(`validate`), so a form rejected on the server says why next to the field, in the interface
language, exactly as the browser would have.
"""

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from songkhoe.web.i18n import register

register(
    {
        "form_required": ("Vui lòng nhập trường này.", "Please fill in this field."),
        "form_number": ("Vui lòng nhập một số.", "Please enter a number."),
        "form_range": ("Giá trị phải từ {min} đến {max}.", "Must be between {min} and {max}."),
        "form_step": (
            "Vui lòng nhập tối đa {places} chữ số thập phân.",
            "Please use at most {places} decimal places.",
        ),
        "form_date": (
            "Vui lòng nhập ngày dạng năm-tháng-ngày.",
            "Please enter a date (YYYY-MM-DD).",
        ),
        "form_date_range": ("Ngày phải từ {min} đến {max}.", "Must be between {min} and {max}."),
        "form_choice": (
            "Vui lòng chọn một giá trị trong danh sách.",
            "Please choose from the list.",
        ),
        "form_pattern": (
            "Giá trị không đúng định dạng.",
            "The value is not in the expected format.",
        ),
        "form_too_long": ("Tối đa {max} ký tự.", "At most {max} characters."),
        "form_has_errors": (
            "Vui lòng sửa các trường được đánh dấu bên dưới.",
            "Please correct the fields marked below.",
        ),
    }
)


@dataclass(frozen=True, slots=True)
class Field:
    """One form field. `kind`: number, text, date or select. `step` is the HTML step ("1",
    "0.1", ...); `choices` are (value, label key) for a select; `pattern` a full-match regex."""

    name: str
    label_key: str
    kind: str = "text"
    required: bool = False
    min: float | str | None = None  # a date field: ISO date
    max: float | str | None = None
    step: str | None = None
    unit: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    pattern: str | None = None
    maxlength: int | None = None
    hint_key: str | None = None
    translate_choices: bool = True  # False: choice labels are shown as they are

    @property
    def input_type(self) -> str:
        return {"number": "number", "date": "date"}.get(self.kind, "text")


Translate = Callable[[str], str]


def _fmt(value: float | str) -> str:
    if isinstance(value, str):
        return value
    return f"{value:g}"


def _number(field: Field, raw: str, t: Translate) -> tuple[float | None, str | None]:
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        return None, t("form_number")
    if not math.isfinite(value):
        return None, t("form_number")
    if (field.min is not None and value < float(field.min)) or (
        field.max is not None and value > float(field.max)
    ):
        return None, t("form_range").format(min=_fmt(field.min), max=_fmt(field.max))
    if field.step not in (None, "any"):
        places = len(field.step.partition(".")[2])
        if round(value, places) != value:
            return None, t("form_step").format(places=places)
    return value, None


def _date(field: Field, raw: str, t: Translate) -> tuple[date | None, str | None]:
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        return None, t("form_date")
    low = date.fromisoformat(str(field.min)) if field.min else date.min
    high = date.fromisoformat(str(field.max)) if field.max else date.max
    if not low <= value <= high:
        return None, t("form_date_range").format(min=field.min or "", max=field.max or "")
    return value, None


def check(field: Field, raw: str | None, t: Translate) -> tuple[object, str | None]:
    """(value, None) or (None, message) for one field's raw text; an empty optional field is
    (None, None)."""
    raw = (raw or "").strip()
    if not raw:
        return None, t("form_required") if field.required else None
    if field.maxlength is not None and len(raw) > field.maxlength:
        return None, t("form_too_long").format(max=field.maxlength)
    if field.kind == "number":
        return _number(field, raw, t)
    if field.kind == "date":
        return _date(field, raw, t)
    if field.kind == "select" and raw not in {value for value, _ in field.choices}:
        return None, t("form_choice")
    if field.pattern is not None and not re.fullmatch(field.pattern, raw):
        return None, t("form_pattern")
    return raw, None


def validate(
    fields: Sequence[Field], form: dict[str, str], t: Translate
) -> tuple[dict[str, object], dict[str, str]]:
    """The typed values of every field and the message of each field that is wrong."""
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    for field in fields:
        value, error = check(field, form.get(field.name), t)
        if error is not None:
            errors[field.name] = error
        else:
            values[field.name] = value
    return values, errors
