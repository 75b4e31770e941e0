"""Printable documents (referral letters, prescriptions) as PDF, with fpdf2 and the Be Vietnam
Pro font (SIL OFL 1.1, shipped by the `fontpkg-be-vietnam-pro` package) embedded as a subset, so
Vietnamese text prints and stays extractable wherever the PDF is opened."""

from dataclasses import dataclass, field

from fontpkg_be_vietnam_pro import ROOT
from fpdf import FPDF, FontFace

FONT = "BeVietnamPro"
FONT_FILES = {"": "BeVietnamPro-Regular.ttf", "B": "BeVietnamPro-Bold.ttf"}


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
