"""Demo accounts for `songkhoe demo`: one per kind of user, over the synthetic province.

Passwords are random, written once to a file only its owner can read, and shown at every start
of the demo so that whoever runs it can log in. Never for a real deployment: real accounts come
from `songkhoe users create`.
"""

import os
import secrets
from pathlib import Path

from sqlalchemy import func, select

from songkhoe.auth.service import create_user
from songkhoe.auth.tables import app_user
from songkhoe.fhir.queries import count_referencing
from songkhoe.fhir.store import ResourceStore
from songkhoe.places.catalog import communes
from songkhoe.places.facilities import commune_station_id

DEMO_CENTRAL_HOSPITAL = "bv-bach-mai"
DEMO_SPECIALISTS = ("chuyengia", "chuyengia.dp")  # a specialist and the backup of the queues


def _busiest_commune(store: ResourceStore, province_code: str) -> str:
    """The commune (code) of the province's station that manages the most people."""
    with store.engine.connect() as conn:
        registered = count_referencing("Patient", "organization")
        station = conn.execute(registered.order_by(func.count().desc()).limit(1)).scalar()
    if station is None:
        return communes(province_code)[0].code
    return station.removeprefix("tyt-")


def ensure_demo_accounts(store: ResourceStore, *, province_code: str, path: Path) -> list[str]:
    """Create the demo accounts if there are no accounts yet; returns the lines of `path`
    (username, role, place, password), or [] when the database has other, real accounts."""
    with store.engine.connect() as conn:
        users = conn.execute(select(func.count()).select_from(app_user)).scalar_one()
    if users and path.exists():
        return path.read_text().splitlines()
    if users:
        return []
    commune_code = _busiest_commune(store, province_code)
    accounts = [
        ("admin", "admin", "national"),
        ("yte.xa", "commune_health_worker", f"commune:{commune_code}"),
        ("ketoan", "insurance_accountant", f"facility:{commune_station_id(commune_code)}"),
        ("bacsi", "doctor", f"province:{province_code}"),
        ("quanly", "provincial_manager", f"province:{province_code}"),
        ("xquang", "radiologist", f"province:{province_code}"),
        *((name, "specialist", f"facility:{DEMO_CENTRAL_HOSPITAL}") for name in DEMO_SPECIALISTS),
    ]
    lines = []
    for username, role, place in accounts:
        password = secrets.token_urlsafe(9)
        create_user(
            store.engine,
            username=username,
            password=password,
            role=role,
            place=place,
            full_name=username,
        )
        lines.append(f"{username:10} {password:14} {role} ({place})")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    os.chmod(path, 0o600)
    return lines
