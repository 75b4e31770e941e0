"""A small synthetic province with its NCD projections and risk assessments, on each backend, and
the raw FHIR resources it holds, for brute-force recomputation."""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from songkhoe.db.tables import metadata, resource
from songkhoe.fhir.store import ResourceStore
from songkhoe.ncd.service import refresh
from songkhoe.synth.service import populate

PROVINCE = "12"  # Lai Châu: 38 communes, so ~20 people each
AS_OF = date(2026, 6, 30)
VIETNAM = timezone(timedelta(hours=7))


@pytest.fixture(scope="module")
def province(migrated_engine) -> ResourceStore:
    with migrated_engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    store = ResourceStore(migrated_engine)
    populate(store=store, province_code=PROVINCE, people=800, seed=11, as_of=AS_OF)
    refresh(store=store)
    return store


class Raw:
    """The live resources of the store by type, and plain-Python readers of their fields."""

    def __init__(self, store: ResourceStore) -> None:
        self.by_type: dict[str, list[dict]] = defaultdict(list)
        with store.engine.connect() as conn:
            rows = conn.execute(
                select(resource.c.res_type, resource.c.content).where(
                    resource.c.is_current, ~resource.c.deleted
                )
            )
            for res_type, content in rows:
                self.by_type[res_type].append(content)

    def __getitem__(self, resource_type: str) -> list[dict]:
        return self.by_type[resource_type]

    @staticmethod
    def instant(value: str) -> datetime:
        """A FHIR date or dateTime as an aware datetime (a bare date: UTC midnight, as the store
        reads it)."""
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)

    @classmethod
    def local(cls, value: str) -> datetime:
        """A FHIR date or dateTime as a wall-clock time in Vietnam."""
        return cls.instant(value).astimezone(VIETNAM)

    @staticmethod
    def subject(res: dict) -> str:
        return res["subject"]["reference"].removeprefix("Patient/")

    @staticmethod
    def commune_of(patient: dict) -> str:
        return patient["managingOrganization"]["reference"].removeprefix("Organization/tyt-")

    @staticmethod
    def codes(concept: dict) -> list[str]:
        return [c["code"] for c in concept.get("coding", [])]

    @classmethod
    def code(cls, res: dict) -> str:
        return cls.codes(res["code"])[0]

    @classmethod
    def blood_pressure(cls, obs: dict) -> tuple[float, float]:
        values = {cls.code(c): c["valueQuantity"]["value"] for c in obs["component"]}
        return values["8480-6"], values["8462-4"]


@pytest.fixture(scope="module")
def raw(province) -> Raw:
    return Raw(province)
