"""De-identification of a DICOM file on export, after DICOM PS3.15 Annex E, the Basic
Application Level Confidentiality Profile with the Retain Patient Characteristics Option (sex,
age, size and weight stay; they matter for reading a chest film): every person name, date, time,
free-text identifier and private tag is removed or blanked, and instance UIDs are replaced."""

import io

import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

REMOVE = (  # PS3.15 Table E.1-1, action X (and X/Z, X/D for type 3 use)
    "OtherPatientIDs",
    "OtherPatientIDsSequence",
    "OtherPatientNames",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "PatientMotherBirthName",
    "MedicalRecordLocator",
    "PatientBirthName",
    "PatientComments",
    "AdditionalPatientHistory",
    "Occupation",
    "MilitaryRank",
    "BranchOfService",
    "InstitutionName",
    "InstitutionAddress",
    "InstitutionalDepartmentName",
    "StationName",
    "DeviceSerialNumber",
    "PhysiciansOfRecord",
    "NameOfPhysiciansReadingStudy",
    "RequestingPhysician",
    "PerformingPhysicianName",
    "OperatorsName",
    "ReferringPhysicianAddress",
    "ReferringPhysicianTelephoneNumbers",
    "RequestAttributesSequence",
    "StudyDescription",
    "SeriesDescription",
    "ImageComments",
    "PerformedProcedureStepID",
    "PerformedProcedureStepDescription",
    "ScheduledProcedureStepID",
    "RequestedProcedureID",
    "AdmissionID",
    "IssuerOfPatientID",
    "PatientInsurancePlanCodeSequence",
    "CountryOfResidence",
    "RegionOfResidence",
    "EthnicGroup",
    "ResponsiblePerson",
)
EMPTY = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "ReferringPhysicianName",
    "AccessionNumber",
    "StudyID",
    "StudyDate",
    "StudyTime",
)
NEW_UIDS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID")
DEID_CODES = (
    ("113100", "Basic Application Confidentiality Profile"),
    ("113108", "Retain Patient Characteristics Option"),
)


def _blank_people_and_dates(ds: Dataset, element: DataElement) -> None:
    if element.VR == "PN" or element.VR in ("DA", "DT", "TM"):
        element.value = ""


def deidentify(data: bytes, *, pseudonym: str) -> bytes:
    """A de-identified copy of a DICOM file; `pseudonym` becomes PatientID and PatientName (a
    study id, not a person's)."""
    ds = pydicom.dcmread(io.BytesIO(data), force=True)
    ds.remove_private_tags()
    for keyword in REMOVE:
        if keyword in ds:
            delattr(ds, keyword)
    ds.walk(_blank_people_and_dates)
    for keyword in EMPTY:
        if keyword in ds:
            setattr(ds, keyword, "")
    ds.PatientID = ds.PatientName = pseudonym
    uids = {}
    for keyword in NEW_UIDS:
        if keyword in ds:
            uids[keyword] = generate_uid()
            setattr(ds, keyword, uids[keyword])
    if "SOPInstanceUID" in uids and getattr(ds, "file_meta", None) is not None:
        ds.file_meta.MediaStorageSOPInstanceUID = uids["SOPInstanceUID"]
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = "DICOM PS3.15 E.1 Basic Profile, Retain Patient Characteristics"
    codes = []
    for value, meaning in DEID_CODES:
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
        codes.append(item)
    ds.DeidentificationMethodCodeSequence = codes
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()
