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

from songkhoe.fhir.systems import BASE, SNOMED
from songkhoe.telehealth.records import parse_instant
from songkhoe.telehealth.staff import user_of

SERVICE_CATEGORY = f"{BASE}/CodeSystem/service-category"
TASK_CODE = f"{BASE}/CodeSystem/telehealth-task"
MESSAGE_CATEGORY = f"{BASE}/CodeSystem/communication-category"
SPECIALTY = f"{BASE}/CodeSystem/specialty"
QUEUE_ROLE = f"{BASE}/CodeSystem/queue-role"
RECOMMENDATION_TYPE = "application/vnd.songkhoe.recommendation+json"
CONSULT_CATEGORY = {"system": SERVICE_CATEGORY, "code": "telehealth-consult",
                    "display": "Telehealth consultation"}  # fmt: skip
REFERRAL_CATEGORY = {"system": SNOMED, "code": "3457005", "display": "Patient referral"}
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
