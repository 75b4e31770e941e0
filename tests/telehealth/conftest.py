"""A small world for telehealth tests: two communes' people, a commune health worker, specialists
of a radiology queue at Bạch Mai (one assigned, one backup, one not in the queue), a doctor and a
radiologist of the provincial hospital (who see the province's people), an administrator, and an
X-ray of the person (ImagingStudy + Media, made here since the
imaging module is built separately)."""

import base64
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from songkhoe.auth.audit import RequestContext
from songkhoe.auth.caller import Caller
from songkhoe.auth.service import create_user, user_principal
from songkhoe.places.catalog import communes
from songkhoe.telehealth.queues import configure_queue

HOME, NEIGHBOUR = (c.code for c in communes("24")[:2])
PASSWORD = "mật-khẩu-đủ-dài"
T0 = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()
ACCOUNTS = {
    "yta.xa": ("commune_health_worker", f"commune:{HOME}"),
    "yta.ben": ("commune_health_worker", f"commune:{NEIGHBOUR}"),
    "bs.xquang": ("specialist", "facility:bv-bach-mai"),
    "bs.duphong": ("specialist", "facility:bv-bach-mai"),
    "bs.khac": ("specialist", "facility:bv-bach-mai"),
    "bs.tinh": ("doctor", "facility:bv-dk-24"),
    "ktv.tinh": ("radiologist", "facility:bv-dk-24"),
    "quantri": ("admin", "national"),
}
JITSI = "https://jitsi.songkhoe.example"


def person(pid: str, commune_code: str, family: str, given: str) -> dict:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [
            {"system": "http://fhir.ehealth.gov.vn/core/sid/national_id", "value": "027160000001"},
            {
                "system": "http://fhir.ehealth.gov.vn/core/sid/insurance_number",
                "value": "GD4272721234567",
            },
        ],
        "name": [{"family": family, "given": given.split()}],
        "birthDate": "1960-05-01",
        "gender": "female",
        "address": [{"line": ["Thôn Đông"], "city": "Xã Đông Hồ", "state": "Bắc Ninh"}],
        "managingOrganization": {"reference": f"Organization/tyt-{commune_code}"},
    }


def xray(patient_id: str) -> list[dict]:
    return [
        {
            "resourceType": "ImagingStudy",
            "id": f"xq-{patient_id}",
            "status": "available",
            "subject": {"reference": f"Patient/{patient_id}"},
            "started": "2025-03-01T01:30:00Z",
            "description": "X-quang ngực thẳng",
            "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "DX"}],
        },
        {
            "resourceType": "Media",
            "id": f"heatmap-{patient_id}",
            "status": "completed",
            "subject": {"reference": f"Patient/{patient_id}"},
            "partOf": [{"reference": f"ImagingStudy/xq-{patient_id}"}],
            "content": {"contentType": "image/png", "data": PNG, "title": "Bản đồ nhiệt AI"},
        },
    ]


@dataclass
class World:
    store: object
    ids: dict[str, str]

    def caller(self, username: str) -> Caller:
        principal = user_principal(self.store.engine, self.ids[username])
        return Caller(self.store, principal, RequestContext("127.0.0.1"))


@pytest.fixture
def world(store) -> World:
    store.create_many(
        [
            person("lan", HOME, "Nguyễn", "Thị Lan"),
            person("mai", NEIGHBOUR, "Trần", "Thị Mai"),
            *xray("lan"),
            *xray("mai"),
        ]
    )
    ids = {
        name: create_user(
            store.engine, username=name, password=PASSWORD, role=role, place=place, full_name=name
        )
        for name, (role, place) in ACCOUNTS.items()
    }
    configure_queue(
        store,
        facility_id="bv-bach-mai",
        specialty="radiology",
        specialists=["bs.xquang"],
        backups=["bs.duphong"],
    )
    return World(store, ids)


@pytest.fixture
def jitsi(monkeypatch) -> str:
    """A Jitsi server configured (SONGKHOE_JITSI_URL); by default there is none."""
    monkeypatch.setenv("SONGKHOE_JITSI_URL", JITSI)
    return JITSI
