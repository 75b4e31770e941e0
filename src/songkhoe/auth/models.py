"""Who is asking: roles, place scopes, SMART-on-FHIR scopes and the resulting Principal."""

import re
from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    COMMUNE_HEALTH_WORKER = "commune_health_worker"
    DOCTOR = "doctor"
    RADIOLOGIST = "radiologist"
    SPECIALIST = "specialist"
    DISTRICT_MANAGER = "district_manager"
    PROVINCIAL_MANAGER = "provincial_manager"
    INSURANCE_ACCOUNTANT = "insurance_accountant"  # Health-insurance accountant
    ADMIN = "admin"


ROLE_LABELS_VI = {
    Role.COMMUNE_HEALTH_WORKER: "Nhân viên trạm y tế xã",
    Role.DOCTOR: "Bác sĩ",
    Role.RADIOLOGIST: "Bác sĩ chẩn đoán hình ảnh",
    Role.SPECIALIST: "Bác sĩ chuyên khoa tuyến trên",
    Role.DISTRICT_MANAGER: "Quản lý khu vực",
    Role.PROVINCIAL_MANAGER: "Quản lý Sở Y tế",
    Role.INSURANCE_ACCOUNTANT: "Kế toán bảo hiểm y tế",
    Role.ADMIN: "Quản trị hệ thống",
}
MANAGERS = frozenset({Role.DISTRICT_MANAGER, Role.PROVINCIAL_MANAGER})
PLACE_KINDS = ("national", "province", "commune", "facility")


@dataclass(frozen=True, slots=True)
class Place:
    """Where a user or client works: the whole country, a province, a commune or a facility."""

    kind: str
    code: str | None = None

    def __str__(self) -> str:
        return self.kind if self.code is None else f"{self.kind}:{self.code}"


_SCOPE = re.compile(r"(patient|user|system)/(\*|[A-Z][A-Za-z]+)\.(read|write|\*)")


@dataclass(frozen=True, slots=True)
class Scope:
    """A SMART App Launch v1 scope, `context/Type.access`
    (http://hl7.org/fhir/smart-app-launch/1.0.0/scopes-and-launch-context/)."""

    context: str
    resource_type: str
    access: str

    def allows(self, resource_type: str, access: str) -> bool:
        return self.resource_type in ("*", resource_type) and self.access in ("*", access)


class InvalidScope(ValueError):
    pass


def parse_scopes(text: str) -> frozenset[Scope]:
    """Space-separated SMART scopes; raises InvalidScope naming the first bad one."""
    scopes = set()
    for word in text.split():
        match = _SCOPE.fullmatch(word)
        if match is None:
            raise InvalidScope(
                f"invalid scope {word!r}: expected patient|user|system/Type|*.read|write|*"
            )
        scopes.add(Scope(*match.groups()))
    if not scopes:
        raise InvalidScope("at least one scope is required")
    return frozenset(scopes)


def format_scopes(scopes: frozenset[Scope]) -> str:
    return " ".join(sorted(f"{s.context}/{s.resource_type}.{s.access}" for s in scopes))


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of one request."""

    kind: str  # "user" or "client"
    id: str
    display: str  # username or client id: never a person's name
    role: Role | None  # None for API clients
    place: Place
    scopes: frozenset[Scope] = field(default_factory=frozenset)
    patient_id: str | None = None  # the patient of patient/ scopes
    can_see_names: bool = False

    def allows(self, resource_type: str, access: str) -> bool:
        return any(s.allows(resource_type, access) for s in self.scopes)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN
