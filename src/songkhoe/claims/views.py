"""The insurance accountant's pages: a facility's claims of a settlement month (`/claims`), each
with its state and what to fix, counts per state and a filter by state; and the month's list
filed with BHXH (`claims.summary`) as CSV and XLSX.

Who: the health-insurance accountant, for the facility of their place (`month.facility_of`: a
facility, or a commune's station), and administrators, for the facility they name
(`?facility=`). Everyone else is refused (403) and has no link to it. The month defaults to the
last complete one in Vietnam's time. The summary is refused (409) while some of the month's
claims are hidden from the viewer: a list filed with BHXH must be whole.
"""

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from songkhoe.auth.models import Role
from songkhoe.auth.policy import Access
from songkhoe.claims import texts as _texts  # noqa: F401  (registers the interface text)
from songkhoe.claims.month import (
    ClaimLine,
    Month,
    facility_of,
    last_complete_month,
    parse_month,
    read_month,
)
from songkhoe.claims.submissions import State
from songkhoe.claims.summary import (
    Summary,
    SummaryError,
    csv_bytes,
    summarize,
    xlsx_bytes,
)
from songkhoe.places.catalog import UnknownPlace
from songkhoe.places.facilities import facility as place_facility
from songkhoe.timezones import today_in_vietnam
from songkhoe.web.pages import Viewer, ViewerDep, message, page, page_router, register_nav

KEEPERS = frozenset({Role.INSURANCE_ACCOUNTANT, Role.ADMIN})
MonthQuery = Annotated[str | None, Query(max_length=7)]
FacilityQuery = Annotated[str | None, Query(max_length=64)]
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

router = page_router()


def _keeps_claims(access: Access) -> bool:
    return access.principal.role in KEEPERS


register_nav("/claims", "bh_nav", _keeps_claims, order=50)


def vnd(value: Decimal) -> str:
    """An amount in đồng as Vietnamese write it: "1.234.567,50"."""
    return f"{value:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")


@dataclass(frozen=True)
class Row:
    """A claim as the page shows it."""

    key: str
    name: str
    visit: str  # dd/mm/yyyy, or a range for a stay over several days
    total: str
    fund: str
    state: str
    messages: tuple[str, ...]
    transaction: str


def _row(line: ClaimLine) -> Row:
    visit = line.arrived.strftime("%d/%m/%Y")
    if line.left != line.arrived:
        visit += f"–{line.left:%d/%m/%Y}"
    zero = Decimal(0)
    return Row(
        key=line.key,
        name=line.name,
        visit=visit,
        total=vnd(line.totals.get("T_TONGCHI_BV", zero)),
        fund=vnd(line.totals.get("T_BHTT", zero)),
        state=line.standing.state.value,
        messages=line.standing.messages,
        transaction=line.standing.transaction,
    )


@dataclass(frozen=True)
class Asked:
    """Which facility and month a request is about."""

    facility: str
    name: str
    month: str


def _asked(
    request: Request, who: Viewer, month: str | None, facility: str | None
) -> Asked | Response | None:
    """The facility and month asked for, a refusal page, or None: an administrator who has
    not named a facility yet."""
    role = who.principal.role
    if role not in KEEPERS:
        return message(request, who, 403, "bh_not_accountant")
    try:
        month = parse_month(month) if month else last_complete_month(today_in_vietnam())
    except ValueError:
        return message(request, who, 400, "bh_bad_month")
    if role == Role.INSURANCE_ACCOUNTANT:
        own = facility_of(who.principal.place)
        if own is None:
            return message(request, who, 403, "bh_no_facility")
        if facility and facility != own:
            return message(request, who, 403, "bh_other_facility")
        facility = own
    if not facility:
        return None
    try:
        name = place_facility(facility).name
    except UnknownPlace:
        return message(request, who, 404, "bh_unknown_facility")
    return Asked(facility, name, month)


def _shift(month: str, by: int) -> str:
    year, number = divmod(int(month[:4]) * 12 + int(month[5:]) - 1 + by, 12)
    return f"{year:04d}-{number + 1:02d}"


@router.get("/claims")
async def month_page(
    request: Request,
    who: ViewerDep,
    month: MonthQuery = None,
    facility: FacilityQuery = None,
    state: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    asked = _asked(request, who, month, facility)
    if isinstance(asked, Response):
        return asked
    if asked is None:
        return page(request, "claims/month.html", who, asked=None, month=month or "")
    claims = await run_in_threadpool(read_month, who.caller, asked.facility, asked.month)
    shown = next((s for s in State if s.value == state), None)
    summary: Summary | None = None
    error = ""
    try:
        summary = summarize(claims.lines, asked.name, _code(claims), asked.month)
    except SummaryError as exc:
        error = str(exc)
    counts = Counter(line.standing.state for line in claims.lines)
    rows = [_row(line) for line in claims.lines if shown in (None, line.standing.state)]
    return page(
        request,
        "claims/month.html",
        who,
        asked=asked,
        month=asked.month,
        query=f"&facility={asked.facility}" if who.principal.is_admin else "",
        previous=_shift(asked.month, -1),
        following=_shift(asked.month, 1),
        states=list(State),
        shown=shown.value if shown else "",
        counts=counts,
        rows=rows,
        hidden=claims.hidden,
        summary=summary,
        summary_cost=vnd(summary.cost) if summary else "",
        summary_fund=vnd(summary.fund) if summary else "",
        summary_error=error,
    )


def _code(claims: Month) -> str:
    return next((line.facility_code for line in claims.lines), "")


async def _download(
    request: Request, who: Viewer, month: str | None, facility: str | None, kind: str
) -> Response:
    asked = _asked(request, who, month, facility)
    if asked is None:
        return message(request, who, 400, "bh_pick_facility")
    if isinstance(asked, Response):
        return asked
    claims = await run_in_threadpool(read_month, who.caller, asked.facility, asked.month)
    if claims.hidden:
        return message(request, who, 409, "bh_incomplete")
    try:
        summary = summarize(claims.lines, asked.name, _code(claims), asked.month)
    except SummaryError:
        return message(request, who, 409, "bh_summary_mismatch")
    content = csv_bytes(summary) if kind == "csv" else xlsx_bytes(summary)
    name = f"bhyt-{asked.facility}-{asked.month}.{kind}"
    return Response(
        content,
        media_type=MEDIA[kind],
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


@router.get("/claims/summary.csv")
async def summary_csv(
    request: Request, who: ViewerDep, month: MonthQuery = None, facility: FacilityQuery = None
) -> Response:
    return await _download(request, who, month, facility, "csv")


@router.get("/claims/summary.xlsx")
async def summary_xlsx(
    request: Request, who: ViewerDep, month: MonthQuery = None, facility: FacilityQuery = None
) -> Response:
    return await _download(request, who, month, facility, "xlsx")
