"""What the clinical pages share: repeated form fields. (Vietnam time in templates, the
`local_date` and `local_time` filters, comes with songkhoe.web.pages.)"""

from urllib.parse import parse_qsl

from fastapi import Request


async def form_pairs(request: Request) -> list[tuple[str, str]]:
    """Every field of a posted form in order, repeated names included (checkboxes)."""
    return parse_qsl((await request.body()).decode(errors="replace"))
