"""Codes and typed views of consultations and referrals.

FHIR shapes (http://hl7.org/fhir/R4/): a consultation is a ServiceRequest (category telehealth
consult, `performer` the specialty queue, `supportingInfo` the attachments) with a Task of the
same id (`owner` the assigned specialist, `status` requested → accepted → in-progress →
completed, `restriction.period.end` the response deadline, `input` the video room), and
Communications (chat messages; the recommendation with a structured payload). A referral
(chuyển tuyến) is a ServiceRequest of category referral with a Task of the same id
(`owner` the receiving facility, requested → received → completed, `output` the outcome).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from songkhoe.clinical.records import parse_instant
from songkhoe.clinical.staff import user_of
from songkhoe.fhir.systems import BASE, SNOMED
from songkhoe.telehealth.access import CONSULT_CODE, SERVICE_CATEGORY
from songkhoe.telehealth.access import TASK_CODE as TASK_CODE  # re-exported

MESSAGE_CATEGORY = f"{BASE}/CodeSystem/communication-category"
SPECIALTY = f"{BASE}/CodeSystem/specialty"
QUEUE_ROLE = f"{BASE}/CodeSystem/queue-role"
BUSINESS_STATUS = f"{BASE}/CodeSystem/telehealth-business-status"
RECOMMENDATION_TYPE = "application/vnd.songkhoe.recommendation+json"
# who sees a consultation: its participants only (songkhoe.telehealth.access)
CONSULT_CATEGORY = {"system": SERVICE_CATEGORY, "code": CONSULT_CODE,
                    "display": "Telehealth consultation"}  # fmt: skip
REFERRAL_CATEGORY = {"system": SNOMED, "code": "3457005", "display": "Patient referral"}
OPEN_STATUSES = ("requested", "accepted", "in-progress")  # a consultation not yet answered
ATTACHMENT_TYPES = ("ImagingStudy", "Media", "Observation", "DocumentReference",
                    "DiagnosticReport")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Urgency:
    code: str
    priority: str  # ServiceRequest.priority (http://hl7.org/fhir/R4/valueset-request-priority.html)
    target: timedelta  # response target
    label_vi: str
    label_en: str


URGENCIES = {
    u.code: u
    for u in (
        Urgency("emergency", "stat", timedelta(hours=1), "Cấp cứu (1 giờ)", "Emergency (1 h)"),
        Urgency("urgent", "urgent", timedelta(hours=24), "Khẩn (24 giờ)", "Urgent (24 h)"),
        Urgency("routine", "routine", timedelta(hours=72), "Thường (72 giờ)", "Routine (72 h)"),
    )
}
# Requests from other systems may use every R4 priority: asap counts as urgent.
URGENCY_OF_PRIORITY = {"stat": "emergency", "asap": "urgent", "urgent": "urgent",
                       "routine": "routine"}  # fmt: skip

SPECIALTIES = {
    "cardiology": ("Tim mạch", "Cardiology"),
    "pulmonology": ("Hô hấp", "Respiratory medicine"),
    "endocrinology": ("Nội tiết – đái tháo đường", "Endocrinology and diabetes"),
    "radiology": ("Chẩn đoán hình ảnh", "Radiology"),
    "neurology": ("Thần kinh", "Neurology"),
    "nephrology": ("Thận", "Nephrology"),
    "paediatrics": ("Nhi khoa", "Paediatrics"),
    "obstetrics": ("Sản phụ khoa", "Obstetrics and gynaecology"),
    "infectious-diseases": ("Truyền nhiễm", "Infectious diseases"),
    "oncology": ("Ung bướu", "Oncology"),
    "dermatology": ("Da liễu", "Dermatology"),
}
RECOMMENDED_ACTIONS = {
    "manage-locally": ("Tiếp tục điều trị tại tuyến dưới", "Keep managing locally"),
    "refer": ("Chuyển tuyến", "Refer to a higher facility"),
    "investigate": ("Làm thêm xét nghiệm, chẩn đoán hình ảnh", "Further investigations"),
    "follow-up": ("Hẹn tái khám, theo dõi", "Follow up"),
}


def business_status(code: str) -> dict:
    """Task.businessStatus: coded, so that a search can leave out flagged cases."""
    return {"coding": [{"system": BUSINESS_STATUS, "code": code}], "text": code}


@dataclass(frozen=True, slots=True)
class Case:
    """A consultation or a referral: its ServiceRequest and its Task (same id)."""

    request: dict
    task: dict

    @property
    def id(self) -> str:
        return self.request["id"]

    @property
    def patient_id(self) -> str:
        return self.request["subject"]["reference"].removeprefix("Patient/")

    @property
    def status(self) -> str:
        return self.task["status"]

    @property
    def kind(self) -> str:
        """consultation or referral (the Task's code)."""
        return next((c["code"] for c in self.task.get("code", {}).get("coding", [])), "")

    @property
    def business(self) -> str | None:
        """escalated or overdue (consultations), the outcome (referrals)."""
        return self.task.get("businessStatus", {}).get("text")

    @property
    def owner_id(self) -> str | None:
        return user_of(self.task.get("owner"))

    @property
    def requester_id(self) -> str | None:
        return user_of(self.request.get("requester"))

    @property
    def performer(self) -> str:
        """The specialty queue (consultation) or the receiving facility (referral), an
        Organization id."""
        return self.request["performer"][0]["reference"].removeprefix("Organization/")

    @property
    def sender_facility(self) -> str | None:
        """The facility a referral was sent from (its Task.requester); None for a consultation."""
        ref = self.task.get("requester", {}).get("reference", "")
        return ref.removeprefix("Organization/") if ref.startswith("Organization/") else None

    @property
    def urgency(self) -> Urgency:
        return URGENCIES[URGENCY_OF_PRIORITY[self.request.get("priority", "routine")]]

    @property
    def deadline(self) -> datetime | None:
        end = self.task.get("restriction", {}).get("period", {}).get("end")
        return parse_instant(end) if end else None

    def task_input(self, name: str) -> str | None:
        for item in self.task.get("input", []):
            if item["type"].get("text") == name:
                return item.get("valueUrl") or item.get("valueString")
        return None
