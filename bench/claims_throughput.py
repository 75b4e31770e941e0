"""BHYT claims throughput: claims built, signed and checked per second, for a district month.

    signed    what `songkhoe bhyt export` does per claimable visit (claims.export.claim_outcome):
              whether it is claimable (claims.claimable), the amounts (claims.benefit), the
              rows (claims.tables), the envelope (claims.envelope), claims.check on it (every
              rule but the signature's) and the facility's RSA-2048 signature (claims.signing);
    baseline  the same amounts and rows and each table's XML, unsigned and unchecked.
Both run side by side in this process on the same visits, best of --repeat passes each; the
stages of the signed path are timed apart. Then claims.export.export_claims runs on them, the
files written to a temporary folder and the Claims made (not stored), with one process and with
one per core (the command's default). The visits are --visits synthetic NCD
follow-ups of a district hospital (1-4 drugs, a consultation, 0-2 tests with their results, a
re-visit appointment for most, a referral for a few), made here; the time for a district month
(--month, about 30,000 visits) is scaled from the rates. Reading the visits from the store is not
in these figures. Goal: >= 1,000 claims/s signed and checked.

    python bench/claims_throughput.py [--visits 3000] [--repeat 3] [--month 30000] [--under DIR]
"""

import argparse
import os
import random
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from songkhoe.claims.benefit import visit_amounts
from songkhoe.claims.check import check_file
from songkhoe.claims.envelope import envelope, table_document
from songkhoe.claims.export import Identity, claim_outcome, export_claims
from songkhoe.claims.signing import Signer
from songkhoe.claims.tables import claim_rows
from songkhoe.claims.visit import (
    CardInForce,
    CareLevel,
    Diagnosis,
    DrugLine,
    Facility,
    Person,
    Purpose,
    Referral,
    Revisit,
    ServiceLine,
    TestResult,
    Visit,
)

T = TypeVar("T")
HOSPITAL = Facility("24003", "Trung tâm Y tế huyện Yên Dũng", CareLevel.DISTRICT, "24")
MADE_ON = date(2026, 12, 1)
DRUGS = [  # (MA_THUOC, name, unit price): NCD drugs at tender prices of the order of 2025
    ("40.677", "Amlodipin 5mg", "350.5"),
    ("40.512", "Insulin glargine 100UI/ml", "198450"),
    ("40.611", "Metformin 500mg", "420"),
    ("40.663", "Losartan 50mg", "1190"),
    ("40.614", "Gliclazid 30mg", "980"),
    ("40.697", "Atorvastatin 10mg", "760"),
]
TESTS = [  # (MA_DICH_VU, name, price, MA_CHI_SO, unit, low, high)
    ("23.0075.1494", "Định lượng Glucose [Máu]", "21500", "2010", "mmol/L", 4.0, 14.0),
    ("23.0083.1523", "Định lượng HbA1c [Máu]", "101000", "2040", "%", 5.0, 11.0),
]
DIAGNOSES = [
    Diagnosis("I10", "Bệnh lý tăng huyết áp vô căn (nguyên phát)"),
    Diagnosis("E11.9", "Bệnh đái tháo đường type 2 không có biến chứng"),
]


def identity() -> tuple[bytes, bytes]:
    """A self-signed RSA-2048 key and certificate of the facility (PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOSPITAL.name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def follow_up(rng: random.Random, number: int) -> Visit:
    """One NCD follow-up visit in November 2026."""
    day = datetime(2026, 11, 1 + number % 30, 7) + timedelta(minutes=rng.randrange(0, 540))
    doctor = f"{rng.randrange(1, 40):06}/BG-CCHN"
    drugs = tuple(
        DrugLine(
            code=code, name=name, unit="Viên", strength="", route="1.01", form="Viên nén",
            dose="1 viên/lần * 1 lần/ngày * 30 ngày [1 viên/ngày]", directions="Uống sau ăn",
            registration="VD-12345-10", tender="123/QĐ-SYT;G1;N4;2025", cost_group="4",
            scope="1", quantity=Decimal(rng.choice((28, 30, 60))), unit_price=Decimal(price),
            payment_rate=Decimal(100), ordered=day + timedelta(minutes=20),
            dispensed=day + timedelta(minutes=40), prescriber=doctor,
        )
        for code, name, price in rng.sample(DRUGS, rng.randint(1, 4))
    )  # fmt: skip
    tests = rng.sample(TESTS, rng.randint(0, 2))
    services = (
        ServiceLine(
            code="02.1896", supply_code="", cost_group="13", name="Khám Nội", unit="Lần",
            quantity=Decimal(1), hospital_price=Decimal(38700), insurance_price=Decimal(38700),
            service_rate=Decimal(100), payment_rate=Decimal(100), tender="", ordered=day,
            performed=None, result=None, doctor=doctor, performer=doctor,
        ),
        *(
            ServiceLine(
                code=code, supply_code="", cost_group="1", name=name, unit="Lần",
                quantity=Decimal(1), hospital_price=Decimal(price), insurance_price=Decimal(price),
                service_rate=Decimal(100), payment_rate=Decimal(100), tender="",
                ordered=day + timedelta(minutes=5), performed=day + timedelta(minutes=10),
                result=day + timedelta(minutes=15), doctor=doctor, performer=doctor,
            )
            for code, name, price, *_ in tests
        ),
    )  # fmt: skip
    results = tuple(
        TestResult(
            service_code=code, indicator_code=indicator, name=name,
            value=f"{rng.uniform(low, high):.1f}", unit=unit,
            reported=day + timedelta(minutes=15), reader=doctor,
        )
        for code, name, _, indicator, unit, low, high in tests
    )  # fmt: skip
    referred = rng.random() < 0.03
    return Visit(
        encounter_id=f"enc-{number:06}",
        facility=HOSPITAL,
        department="K01",
        person=Person(
            id=f"p-{number:06}", name="Nguyễn Văn An", birth_date=date(1950 + number % 30, 3, 12),
            gender=rng.choice(("male", "female")), citizen_id=f"0240{number:08}",
            address="Thôn Đông, xã Tân Liễu, tỉnh Bắc Ninh", province_code="24",
            commune_code="07456", phone=None,
        ),
        card=CardInForce(
            number=f"{rng.choice(('DN4', 'HT3', 'GD4', 'BT2'))}24{number:010}",
            initial_facility=HOSPITAL.code, valid_from=date(2026, 1, 1),
            valid_to=date(2026, 12, 31), five_years_from=None, copay_exempt_from=None,
        ),
        purpose=Purpose.TREATMENT, kind="01", arrival_kind="1.1", emergency=False,
        referred_from="", arrived=day, left=day + timedelta(minutes=60),
        main_diagnosis=DIAGNOSES[0], other_diagnoses=tuple(DIAGNOSES[1:rng.randint(1, 2)]),
        outcome="2", doctor=doctor, weight_kg=Decimal(rng.randint(45, 80)),
        drugs=drugs, services=services, tests=results,
        referral=Referral(
            number=f"CT-{number}", to_facility="24001", reason="1", signs="HA 190/110 mmHg",
            course="Tăng huyết áp không kiểm soát", results="", treatment="Nội khoa",
            direction="Điều trị tại tuyến trên", transport="Xe cứu thương", signed_by=doctor,
            on_patient_request=False,
        ) if referred else None,
        revisit=None if referred or rng.random() < 0.2
        else Revisit(number=f"GH-{number}", on=day.date() + timedelta(days=30), by=doctor),
    )  # fmt: skip


def best_seconds(work: Callable[[T], object], items: list[T], repeat: int) -> float:
    """The best time of `repeat` passes of `work` over `items`, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for item in items:
            work(item)
        best = min(best, time.perf_counter() - started)
    return best


def unsigned_tables(visit: Visit) -> list[bytes]:
    rows = claim_rows(visit, visit_amounts(visit))
    return [table_document(table, table_rows) for table, table_rows in rows.items()]


_worker_signer: Signer | None = None  # each pool process's


def _start(key_pem: bytes, cert_pem: bytes) -> None:
    global _worker_signer
    _worker_signer = Signer(key_pem, cert_pem)


def _claims_made(visits: list[Visit]) -> int:
    """Build, sign and check each visit's claim in a pool process; how many were made."""
    assert _worker_signer is not None
    made = [claim_outcome(v, _worker_signer, MADE_ON) for v in visits]
    return sum(outcome.content is not None for outcome in made)


def parallel_seconds(visits: list[Visit], key_pem: bytes, cert_pem: bytes, jobs: int) -> float:
    """Seconds for `jobs` processes to build, sign and check the claims (the pool started
    beforehand, as an export's is once for a month), a share of the visits each."""
    with ProcessPoolExecutor(jobs, initializer=_start, initargs=(key_pem, cert_pem)) as pool:
        list(pool.map(_claims_made, [visits[:jobs]] * jobs))  # warm
        started = time.perf_counter()
        shares = [visits[i::jobs] for i in range(jobs)]
        made = sum(pool.map(_claims_made, shares))
        seconds = time.perf_counter() - started
    if made != len(visits):
        raise SystemExit(f"{made} of {len(visits)} claims made in parallel")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--month", type=int, default=30000)
    parser.add_argument("--under", default=None, help="where the export's temporary folder goes")
    args = parser.parse_args()
    rng = random.Random(1)
    visits = [follow_up(rng, n) for n in range(args.visits)]
    key_pem, cert_pem = identity()
    signer = Signer(key_pem, cert_pem)

    def signed(visit: Visit) -> None:
        outcome = claim_outcome(visit, signer, MADE_ON)
        if outcome.content is None:
            raise SystemExit(f"no claim for {outcome.key}: {outcome.skipped or outcome.errors}")

    signed_s = best_seconds(signed, visits, args.repeat)
    baseline_s = best_seconds(unsigned_tables, visits, args.repeat)

    # the stages of the signed path, on the same visits
    amounts = [visit_amounts(v) for v in visits]
    rows = [claim_rows(v, a) for v, a in zip(visits, amounts, strict=True)]
    envelopes = [envelope(HOSPITAL.code, MADE_ON, [r]) for r in rows]
    signatures = [signer.sign(e) for e in envelopes]
    stages: list[tuple[str, Callable[[int], object]]] = [
        ("amounts", lambda i: visit_amounts(visits[i])),
        ("rows", lambda i: claim_rows(visits[i], amounts[i])),
        ("envelope", lambda i: envelope(HOSPITAL.code, MADE_ON, [rows[i]])),
        ("check", lambda i: check_file("claim.xml", envelopes[i])),  # the export's, unsigned
        ("sign", lambda i: signer.sign(envelopes[i])),
        # not in the export: `bhyt check --cert` on a signed file, the signature verified
        ("(check --cert)", lambda i: check_file("claim.xml", signatures[i], cert_pem)),
    ]
    indices = list(range(len(visits)))
    size = sum(len(s) for s in signatures) / len(signatures)
    print(f"{len(visits):,} visits, {sum(len(r) for r in rows):,} tables, {size:,.0f} bytes/claim")
    print(f"{'stage':15} {'us/claim':>9}")
    for name, stage in stages:
        seconds = best_seconds(stage, indices, args.repeat)
        print(f"{name:15} {seconds / len(visits) * 1e6:9.0f}")

    def export(jobs: int) -> float:
        """`export_claims` over the visits with `jobs` processes, files written; seconds."""
        claims: list[dict] = []
        with tempfile.TemporaryDirectory(dir=args.under) as folder:
            started = time.perf_counter()
            report = export_claims(
                visits, Path(folder), Identity(key_pem, cert_pem), made_on=MADE_ON,
                audit=lambda batch: None, record=claims.extend, jobs=jobs,
            )  # fmt: skip
            seconds = time.perf_counter() - started
        if report.written != len(visits) or len(claims) != len(visits):
            raise SystemExit(f"export wrote {report.written} of {len(visits)}: {report.errors[:3]}")
        return seconds

    jobs = os.cpu_count() or 1
    signed_n = parallel_seconds(visits, key_pem, cert_pem, jobs)
    export_1 = export(1)
    export_n = export(jobs)

    def line(name: str, seconds: float) -> str:
        rate = len(visits) / seconds
        return (
            f"{name:24} {rate:9,.0f} claims/s {seconds / len(visits) * 1e6:7.0f} us/claim "
            f"{args.month / rate:7.1f} s for a month of {args.month:,}"
        )

    under = args.under or tempfile.gettempdir()
    print(line("signed, 1 process", signed_s))
    print(line(f"signed, {jobs} processes", signed_n))
    print(line("export, 1 process", export_1) + f" (files written under {under})")
    print(line(f"export, {jobs} processes", export_n) + " (the command's default: the cores)")
    print(line("baseline (unsigned)", baseline_s))
    best = len(visits) / signed_n
    print(
        f"ratio to the baseline: {signed_s / baseline_s:.1f} x (signed, 1 process), "
        f"{signed_n / baseline_s:.1f} x (signed, {jobs} processes), "
        f"{export_1 / baseline_s:.1f} x (export, 1 process), {export_n / baseline_s:.1f} x "
        f"(export, {jobs} processes); goal >= 1,000 claims/s built, signed and checked: "
        f"{'met' if best >= 1000 else 'NOT met'} ({best:,.0f}/s, {jobs} processes on {jobs} cores)"
    )


if __name__ == "__main__":
    main()
