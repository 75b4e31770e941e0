"""Printable documents (referral letters, prescriptions) as PDF, with fpdf2 and the Be Vietnam
Pro font (SIL OFL 1.1, shipped by the `fontpkg-be-vietnam-pro` package) embedded as a subset, so
Vietnamese text prints and stays extractable wherever the PDF is opened; and what they say about
the person and the facility that issues them."""

from dataclasses import dataclass, field

from fontpkg_be_vietnam_pro import ROOT
from fpdf import FPDF, FontFace

from songkhoe.auth.models import Principal
from songkhoe.clinical.staff import facility_of
from songkhoe.fhir.names import NO_NAME, full_name
from songkhoe.fhir.systems import BHYT
from songkhoe.places.catalog import UnknownPlace
from songkhoe.places.facilities import facility

FONT = "BeVietnamPro"
FONT_FILES = {"": "BeVietnamPro-Regular.ttf", "B": "BeVietnamPro-Bold.ttf"}
SEX_VI = {"male": "Nam", "female": "Nữ"}


def facility_name(facility_id: str) -> str:
    """The facility's name, or its id when the places catalogue does not know it."""
    try:
        return facility(facility_id).name
    except UnknownPlace:
        return facility_id


def issuing_facility(principal: Principal, patient: dict) -> str:
    """The facility a referral or a prescription is issued from: the clinician's facility or
    commune station, else (a province or national account) the person's station."""
    return facility_of(principal) or (
        (patient.get("managingOrganization") or {})
        .get("reference", "")
        .removeprefix("Organization/")
    )


def one_line(address: dict) -> str:
    """An Address on one line: its `text`, else street lines, district, commune, province (the
    parts it has; http://hl7.org/fhir/R4/datatypes.html#Address)."""
    parts = [*(address.get("line") or []), *map(address.get, ("district", "city", "state"))]
    return address.get("text") or ", ".join(part for part in parts if part)


def address_text(patient: dict) -> str:
    """The first address on one line ("" without one)."""
    return one_line((patient.get("address") or [{}])[0])


def person_facts(patient: dict) -> list[tuple[str, str]]:
    """Name, birth date, sex, insurance card and address of a Patient, for printed documents
    (a fact the record lacks prints as "—", a name as "(chưa có tên)")."""
    identifiers = patient.get("identifier", [])
    card = next((i.get("value", "") for i in identifiers if i.get("system") == BHYT), "")
    return [
        ("Họ và tên", full_name(patient) or NO_NAME[0]),
        ("Ngày sinh", patient.get("birthDate", "")),
        ("Giới tính", SEX_VI.get(patient.get("gender", ""), "Không rõ")),
        ("Số thẻ BHYT", card),
        ("Địa chỉ", address_text(patient)),
    ]


@dataclass
class Document:
    """A one-column A4/A5 document: a header, labelled facts, sections and an optional table."""

    issuer: str  # the facility, top left
    title: str
    reference: str  # a code or number, under the title
    facts: list[tuple[str, str]] = field(default_factory=list)
    sections: list[tuple[str, str]] = field(default_factory=list)
    table: list[list[str]] = field(default_factory=list)  # first row: headings
    footer: str = ""

    def render(self, page_format: str | tuple[float, float] = "A4") -> bytes:
        pdf = FPDF(format=page_format)
        for style, name in FONT_FILES.items():
            pdf.add_font(FONT, style, str(ROOT / "files" / name))
        pdf.set_title(f"{self.title} {self.reference}")
        pdf.add_page()
        pdf.set_font(FONT, "B", 10)
        pdf.multi_cell(0, 5, self.issuer, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        pdf.set_font(FONT, "B", 15)
        pdf.multi_cell(0, 8, self.title, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", 10)
        pdf.multi_cell(0, 5, self.reference, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        for label, value in self.facts:
            pdf.set_font(FONT, "B", 10)
            pdf.multi_cell(0, 5.5, f"{label}: ", new_x="END", new_y="LAST")
            pdf.set_font(FONT, "", 10)
            pdf.multi_cell(0, 5.5, value or "—", new_x="LMARGIN", new_y="NEXT")
        for heading, text in self.sections:
            pdf.ln(2)
            pdf.set_font(FONT, "B", 11)
            pdf.multi_cell(0, 6, heading, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font(FONT, "", 10)
            pdf.multi_cell(0, 5.5, text or "—", new_x="LMARGIN", new_y="NEXT")
        if self.table:
            pdf.ln(3)
            pdf.set_font(FONT, "", 9)
            with pdf.table(headings_style=FontFace(family=FONT, emphasis="BOLD")) as table:
                for row in self.table:
                    cells = table.row()
                    for value in row:
                        cells.cell(value)
        if self.footer:
            pdf.ln(6)
            pdf.set_font(FONT, "", 9)
            pdf.multi_cell(0, 5, self.footer, new_x="LMARGIN", new_y="NEXT")
        return bytes(pdf.output())
