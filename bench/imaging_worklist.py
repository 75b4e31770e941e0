"""The chest X-ray reading worklist: ranking every preliminary report by the AI's suspicion
against the earlier way (the 200 newest reports, then sorted), same run, same store.

    new        songkhoe.imaging.service.worklist: the visible preliminary reports joined to the
               indexed suspicion of their AI Observation, sorted and cut to 200 in SQL, then
               the 200 reports with their Observation and Patient read
    baseline   search the 200 newest preliminary reports (with _include of the Observation and
               the Patient), then sort those by suspicion

Prints the median time of each on SQLite and PostgreSQL (when reachable), the ratio new /
baseline, and how many of the 200 most suspicious films the baseline leaves out.

    python bench/imaging_worklist.py [--reports 5000] [--runs 7]
"""

import argparse
import statistics
import time

import numpy as np
from pydicom.uid import generate_uid

from songkhoe.auth.audit import RequestContext
from songkhoe.auth.caller import Caller
from songkhoe.auth.service import create_user, user_principal
from songkhoe.fhir.store import ResourceStore
from songkhoe.imaging import resources as fhir
from songkhoe.imaging import service
from songkhoe.imaging.inference import Analysis
from songkhoe.imaging.ingest import Film
from songkhoe.places.catalog import communes

from common import backends

FILM = Film(np.zeros((64, 64), np.float32), 1.0, "image/png")


def patient(patient_id: str, commune: str) -> dict:
    return {
        "resourceType": "Patient",
        "id": patient_id,
        "name": [{"family": "Lê", "given": ["Văn", patient_id]}],
        "managingOrganization": {"reference": f"Organization/tyt-{commune}"},
    }


def read_by_ai(study_id: str, patient_id: str, suspicion: float, when: str) -> list[dict]:
    """A film the AI has read: its study, AI Observation and preliminary report."""
    analysis = Analysis(
        model="bench",
        demo=False,
        scores={"Nodule": suspicion},
        suspicion=suspicion,
        operating_point=0.5,
        top_finding="Nodule",
        heat=None,
        region=None,
    )
    refs = {"study_id": study_id, "patient_id": patient_id, "when": when}
    return [
        fhir.imaging_study(**refs, film=FILM, series_uid=generate_uid(), sop_uid=generate_uid()),
        fhir.ai_observation(**refs, analysis=analysis, heatmap_id=None),
        fhir.preliminary_report(**refs, heatmap_id=None),
    ]


def provincial_doctor(store: ResourceStore, province: str) -> Caller:
    """The caller of a doctor who sees the whole province."""
    user_id = create_user(
        store.engine,
        username=f"bs{province}",
        password="mật-khẩu-đủ-dài",
        role="doctor",
        place=f"province:{province}",
        full_name="Bác sĩ",
    )
    return Caller(store, user_principal(store.engine, user_id), RequestContext(None, "TREAT"))


def baseline(caller, limit: int = service.WORKLIST_SIZE) -> list[str]:
    items = [
        ("code", f"{fhir.IMAGING}|{fhir.REPORT}"),
        ("status", "preliminary"),
        ("_include", "DiagnosticReport:result"),
        ("_include", "DiagnosticReport:subject"),
        ("_sort", "-date"),
        ("_count", str(limit)),
    ]
    found = caller.visible("DiagnosticReport", items)
    value = {
        f"Observation/{r['id']}": r["valueQuantity"]["value"] for r in found if "valueQuantity" in r
    }
    reports = [r for r in found if r["resourceType"] == "DiagnosticReport"]
    reports.sort(key=lambda r: -value[r["result"][0]["reference"]])
    return [r["imagingStudy"][0]["reference"].removeprefix("ImagingStudy/") for r in reports]


def median_seconds(call, runs: int) -> float:
    call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(5)
    home = [c.code for c in communes("24")[:20]]
    for name, fresh in backends():
        with fresh() as engine:
            store = ResourceStore(engine)
            store.create_many([patient(f"p{i}", home[i % len(home)]) for i in range(500)])
            batch = []
            for i in range(args.reports):
                when = f"2026-{1 + i * 12 // args.reports:02d}-01T08:00:{i % 60:02d}Z"
                batch += read_by_ai(f"cxr-{i:06d}", f"p{i % 500}", float(rng.random()), when)
                if len(batch) >= 3000:
                    store.create_many(batch)
                    batch = []
            store.create_many(batch)
            store.analyze()
            report(name, provincial_doctor(store, "24"), args)


def report(name: str, caller, args) -> None:
    rank = median_seconds(lambda: service.most_suspicious(caller, 200), args.runs)
    new = median_seconds(lambda: service.worklist(caller), args.runs)
    old = median_seconds(lambda: baseline(caller), args.runs)
    top = {e.study_id for e in service.worklist(caller)}
    missed = len(top - set(baseline(caller)))
    print(
        f"{name:10} {args.reports} preliminary reports  new {new * 1000:7.1f} ms "
        f"(ranking {rank * 1000:.1f} ms)  baseline {old * 1000:7.1f} ms  "
        f"ratio new/baseline {new / old:5.2f}  "
        f"baseline misses {missed} of the {len(top)} most suspicious"
    )


if __name__ == "__main__":
    main()
