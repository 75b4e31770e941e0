"""De-identification of a DICOM file on export: DICOM PS3.15 Annex E, the Basic Application
Level Confidentiality Profile, with the Retain Patient Characteristics Option for sex, age, size
and weight (they matter for reading a chest film).

Every attribute of PS3.15 2024b Table E.1-1 gets its Basic Profile action (legend: Table E.1-1a)
at every level of nesting: X removes it, Z empties it, D puts a dummy value, U a new UID (the
same new UID wherever the old one appears); of the conditional actions, Z/D gives D, X/Z/U*
gives U to a UID and removes anything else, and X/Z, X/D and X/Z/D remove. Private attributes,
curves (50xx,xxxx) and overlay data and comments (60xx,3000), (60xx,4000) are removed, and any
person name left is emptied. The table is data (`deid_basic_profile.csv`: tag, action, keyword),
transcribed from the 2024b table as dicom-anonymizer 2.1.0 tabulates it (BSD-3-Clause).

A file whose BurnedInAnnotation is YES has text burned into its pixels, which removing
attributes cannot clean: it is refused.
"""

import csv
import io
from functools import cache
from importlib import resources

import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

RETAINED = frozenset({0x00100040, 0x00101010, 0x00101020, 0x00101030})  # sex, age, size, weight
DUMMY = {
    "DA": "19000101",
    "TM": "000000",
    "DT": "19000101000000",
    "AS": "000Y",
    "PN": "ANONYMOUS",
    "IS": "0",
    "DS": "0",
}
NUMERIC = frozenset({"US", "UL", "SS", "SL", "FL", "FD", "UV", "SV"})
BINARY = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN"})
METHOD = "PS3.15 E.1-1 Basic Profile, Retain Patient Chars (2024b)"  # LO: 64 characters
DEID_CODES = (
    ("113100", "Basic Application Confidentiality Profile"),
    ("113108", "Retain Patient Characteristics Option"),
)


class ExportRefused(ValueError):
    """A file that cannot be de-identified by removing attributes; the message says why."""


@cache
def basic_profile() -> dict[int, str]:
    """Tag → Basic Profile action, from PS3.15 Table E.1-1 (see the module docstring)."""
    text = (resources.files("songkhoe.imaging") / "deid_basic_profile.csv").read_text("utf-8")
    return {int(row["tag"], 16): row["action"] for row in csv.DictReader(io.StringIO(text))}


def _removed_group(tag: int) -> bool:
    """Curves (50xx,xxxx) and overlay data and comments (60xx,3000), (60xx,4000)."""
    group, element = tag >> 16, tag & 0xFFFF
    return (group & 0xFF00) == 0x5000 or (
        (group & 0xFF00) == 0x6000 and element in (0x3000, 0x4000)
    )


class _Deidentifier:
    def __init__(self) -> None:
        self.uids: dict[str, str] = {}

    def new_uid(self, old: str) -> str:
        return self.uids.setdefault(str(old), generate_uid())

    def clean(self, ds: Dataset) -> None:
        """Apply the Basic Profile to a dataset and, depth first, to its sequences' items."""
        profile = basic_profile()
        for element in list(ds):
            tag = int(element.tag)
            if element.tag.is_private or _removed_group(tag):
                del ds[element.tag]
                continue
            action = profile.get(tag)
            if action is None or tag in RETAINED:
                if element.VR == "SQ":
                    for item in element.value:
                        self.clean(item)
                elif element.VR == "PN":
                    element.value = ""
                continue
            self._apply(ds, element, action)

    def _apply(self, ds: Dataset, element: DataElement, action: str) -> None:
        if action in ("U", "X/Z/U*") and element.VR == "UI":
            values = element.value if element.VM > 1 else [element.value]
            new = [self.new_uid(v) for v in values if v]
            element.value = new if element.VM > 1 else (new[0] if new else "")
        elif action == "Z":
            element.value = Sequence() if element.VR == "SQ" else _empty(element.VR)
        elif action in ("D", "Z/D"):
            element.value = _dummy(element.VR)
        else:  # X, X/Z, X/D, X/Z/D, X/Z/U* of a non-UID
            del ds[element.tag]


def _empty(vr: str) -> object:
    return b"" if vr in BINARY else None if vr in NUMERIC else ""


def _dummy(vr: str) -> object:
    if vr in ("SQ", "UI", "AT") or vr in BINARY:
        return {"SQ": Sequence(), "UI": generate_uid(), "AT": None}.get(vr, b"")
    return 0 if vr in NUMERIC else DUMMY.get(vr, "ANONYMIZED")


def deidentify(data: bytes, *, pseudonym: str) -> bytes:
    """A de-identified copy of a DICOM file; `pseudonym` becomes PatientID and PatientName (a
    study id, not a person's). ExportRefused for a film with burned-in annotation."""
    ds = pydicom.dcmread(io.BytesIO(data), force=True)
    if str(ds.get("BurnedInAnnotation", "")).strip().upper() == "YES":
        raise ExportRefused(
            "BurnedInAnnotation is YES: text burned into the film's pixels may name the "
            "person, and the Basic Profile cannot clean pixels; the film is not exported"
        )
    cleaner = _Deidentifier()
    cleaner.clean(ds)
    ds.PatientID = ds.PatientName = pseudonym
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "SOPInstanceUID" in ds:
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = METHOD
    codes = []
    for value, meaning in DEID_CODES:
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
        codes.append(item)
    ds.DeidentificationMethodCodeSequence = codes
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()
