"""What the clinical pages share: repeated form fields, and Vietnam time in templates (the
`local_date` and `local_time` filters of songkhoe.timezones)."""

from urllib.parse import parse_qsl

from fastapi import Request

from songkhoe.timezones import local_date, local_time
from songkhoe.web.pages import TEMPLATES

TEMPLATES.env.filters.update(local_date=local_date, local_time=local_time)


async def form_pairs(request: Request) -> list[tuple[str, str]]:
    """Every field of a posted form in order, repeated names included (checkboxes)."""
    return parse_qsl((await request.body()).decode(errors="replace"))
