"""Exporting claims: one signed, checked envelope per claimable visit as <MA_LK>.xml; the others
skipped by reason or reported; every visit read is audited."""

import dataclasses
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from songkhoe.auth.models import Place, Principal
from songkhoe.claims.check import check_file
from songkhoe.claims.claimable import not_claimable
from songkhoe.claims.export import Identity, export_claims, read_audit_event
from songkhoe.claims.records import iter_visits
from songkhoe.claims.sending import envelope_tables
from songkhoe.claims.submissions import (
    EXT_CLAIM_SHA256,
    State,
    extension_values,
    standing,
    tables_digest,
)
from songkhoe.claims.visit import Purpose, Visit
from songkhoe.cli import main
from songkhoe.fhir.search import parse_query, search_query

from .claim_examples import FOLLOW_UP, REFERRED

MADE_ON = date(2026, 12, 8)
CHECKUP = dataclasses.replace(FOLLOW_UP, encounter_id="enc-0003", purpose=Purpose.CHECKUP)
TOO_LONG = dataclasses.replace(
    FOLLOW_UP,
    encounter_id="enc-0004",
    person=dataclasses.replace(FOLLOW_UP.person, name="A" * 256),
)


def _export(folder: Path, facility, visits: list[Visit], jobs: int = 1):
    batches: list[list[str]] = []
    claims: list[dict] = []
    report = export_claims(
        visits,
        folder,
        Identity(facility.key_pem, facility.cert_pem),
        made_on=MADE_ON,
        audit=lambda batch: batches.append([v.encounter_id for v in batch]),
        record=claims.extend,
        jobs=jobs,
    )
    return report, batches, claims


@pytest.mark.parametrize("jobs", [1, 2])
def test_claimable_visits_are_written_signed_and_pass_the_check(tmp_path, facility, jobs) -> None:
    """With one process or two, the same files; each claim's Claim records what became of it:
    built with its tables' digest, or failed with the checker's line (the skipped check-up has
    none)."""
    folder = tmp_path / "out"
    report, batches, claims = _export(
        folder, facility, [FOLLOW_UP, REFERRED, CHECKUP, TOO_LONG], jobs
    )
    assert batches == [["enc-0001", "enc-0002", "enc-0003", "enc-0004"]]  # read, then audited
    assert report.written == 2
    assert report.skipped == {not_claimable(CHECKUP): 1}
    assert report.errors == [
        "enc-0004.xml, enc-0004, XML1, HO_TEN: 256 characters, more than the maximum 255"
    ]
    assert sorted(p.name for p in folder.iterdir()) == ["enc-0001.xml", "enc-0002.xml"]
    for path in folder.iterdir():
        problems = check_file(path.name, path.read_bytes(), facility.cert_pem)
        assert [p.line() for p in problems if p.fails] == []
        assert any("verified with the certificate given" in p.line() for p in problems)
    assert [c["id"] for c in claims] == ["bhyt-enc-0001", "bhyt-enc-0002", "bhyt-enc-0004"]
    for claim in claims[:2]:
        path = folder / f"{claim['identifier'][0]['value']}.xml"
        _, tables = envelope_tables(path.read_bytes())
        assert extension_values(claim, EXT_CLAIM_SHA256) == [tables_digest(tables)]
        assert standing(claim, []).state is State.BUILT
    failed = standing(claims[2], [])
    assert failed.state is State.FAILED_CHECK and failed.messages == tuple(report.errors)


def test_a_claim_failing_the_check_is_not_written(tmp_path, facility) -> None:
    """A result before its order (XML3 NGAY_KQ before NGAY_YL) fails the check: the file is not
    written and the checker's line is reported; an earlier export's file is replaced."""
    folder = tmp_path / "out"
    (folder).mkdir()
    (folder / "enc-0002.xml").write_text("earlier")
    service = dataclasses.replace(
        FOLLOW_UP.services[1], result=FOLLOW_UP.services[1].ordered.replace(hour=6)
    )
    late = dataclasses.replace(
        FOLLOW_UP, services=(FOLLOW_UP.services[0], service, FOLLOW_UP.services[2])
    )
    report, _, _ = _export(folder, facility, [late, REFERRED])
    assert report.written == 1
    assert report.errors == [
        "enc-0001.xml, enc-0001, XML3, NGAY_KQ: 202611050650 is before NGAY_TH_YL 202611050755"
    ]
    assert sorted(p.name for p in folder.iterdir()) == ["enc-0002.xml"]
    assert (folder / "enc-0002.xml").read_bytes().startswith(b"<?xml")


def test_the_audit_event_names_every_person_and_visit_read() -> None:
    cli = Principal("client", "cli", "operator", None, Place("national"))
    event = read_audit_event(cli, [FOLLOW_UP, REFERRED], "songkhoe bhyt export")
    assert [e["what"]["reference"] for e in event["entity"]] == [
        "Patient/p-0001", "Encounter/enc-0001", "Encounter/enc-0002",
    ]  # fmt: skip
    assert event["purposeOfEvent"][0]["coding"][0]["code"] == "HPAYMT"
    assert event["outcomeDesc"] == "songkhoe bhyt export"


def _run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(["bhyt", "export", *args])
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "2026-11-01", "--to", "2026-11-30"), "give --facility or --province"),
        (
            (
                "--facility",
                "24003",
                "--province",
                "24",
                "--from",
                "2026-11-01",
                "--to",
                "2026-11-30",
            ),
            "give --facility or --province",
        ),
        (
            ("--facility", "24003", "--from", "2026-11-31", "--to", "2026-12-01"),
            "--from 2026-11-31",
        ),
        (
            ("--facility", "24003", "--from", "2026-12-01", "--to", "2026-11-01"),
            "--to 2026-11-01 trước --from 2026-12-01 / the period ends before it starts",
        ),
    ],
)
def test_a_bad_request_is_one_line_naming_it(tmp_path, capsys, args, message) -> None:
    code, out, err = _run(capsys, *args, "--output", str(tmp_path / "out"))
    assert (code, out) == (2, "")
    assert err.startswith("songkhoe: error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_without_a_signing_key_nothing_is_read(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("SONGKHOE_BHYT_KEY", raising=False)
    monkeypatch.setenv("SONGKHOE_DATABASE_URL", "sqlite:////nonexistent/never-opened.db")
    code, out, err = _run(
        capsys, "--facility", "24003", "--from", "2026-11-01", "--to", "2026-11-30",
        "--output", str(tmp_path / "out"),
    )  # fmt: skip
    assert (code, out) == (2, "")
    assert err == (
        "songkhoe: error: không ký được hồ sơ / cannot sign claims: SONGKHOE_BHYT_KEY is not "
        "set: the PEM private key file that signs BHYT claims\n"
    )


def _configure(monkeypatch, store, folder: Path, facility) -> None:
    """The store's database and the facility's key and certificate, as the settings name them."""
    monkeypatch.setenv("SONGKHOE_DATABASE_URL", store.engine.url.render_as_string(False))
    (folder / "key.pem").write_bytes(facility.key_pem)
    (folder / "cert.pem").write_bytes(facility.cert_pem)
    monkeypatch.setenv("SONGKHOE_BHYT_KEY", str(folder / "key.pem"))
    monkeypatch.setenv("SONGKHOE_BHYT_CERT", str(folder / "cert.pem"))


def test_an_unknown_facility_is_one_line(store, tmp_path, capsys, monkeypatch, facility) -> None:
    _configure(monkeypatch, store, tmp_path, facility)
    code, out, err = _run(
        capsys, "--facility", "99999", "--from", "2026-11-01", "--to", "2026-11-30",
        "--output", str(tmp_path / "out"),
    )  # fmt: skip
    assert (code, out) == (2, "")
    assert err.startswith("songkhoe: error: no facility '99999'") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_synthetic_month_gives_a_passing_claim_for_every_claimable_visit(
    store, tmp_path, capsys, monkeypatch, facility
) -> None:
    """The issue's outcome: `songkhoe synth` makes a small province with cards and monthly
    follow-ups; `bhyt export --province` for November writes a claim for exactly the claimable
    visits (claims.claimable says which, read back independently), skips the others by reason,
    `bhyt check --cert` passes every file, and every visit read is named by an AuditEvent."""
    _configure(monkeypatch, store, tmp_path, facility)
    with pytest.raises(SystemExit) as synthesised:
        main(["synth", "--province", "24", "--people", "1500", "--seed", "5",
              "--as-of", "2026-11-30"])  # fmt: skip
    assert synthesised.value.code == 0, capsys.readouterr()
    capsys.readouterr()
    first, last = date(2026, 11, 1), date(2026, 11, 30)
    read = list(iter_visits(store, province="24", start=first, end=last))
    reasons = {v.claim_key: not_claimable(v) for v in read}
    claimable = sorted(key for key, reason in reasons.items() if reason is None)
    skipped = Counter(reason for reason in reasons.values() if reason is not None)
    assert len(claimable) >= 50, f"{len(claimable)} claimable visits: too few to say much"

    out = tmp_path / "claims"
    code, printed, _ = _run(
        capsys, "--province", "24", "--from", "2026-11-01", "--to", "2026-11-30",
        "--output", str(out),
    )  # fmt: skip
    assert code == 0, printed
    assert printed.splitlines() == [
        f"đã ghi {len(claimable):,} hồ sơ vào {out}, bỏ qua {sum(skipped.values()):,}, lỗi 0 / "
        f"wrote {len(claimable):,} claim(s) to {out}, skipped {sum(skipped.values()):,}, "
        "0 error(s)",
        *(f"{count:>9,}  {reason}" for reason, count in skipped.most_common()),
    ]
    files = sorted(out.iterdir())
    assert [p.stem for p in files] == claimable

    with pytest.raises(SystemExit) as checked:
        main(["bhyt", "check", "--cert", str(tmp_path / "cert.pem"), *map(str, files)])
    lines, summary = capsys.readouterr()
    assert checked.value.code == 0, lines
    assert [line for line in lines.splitlines() if ": note: " not in line] == []
    assert f"{len(files)} tệp, 0 lỗi" in summary

    with store.engine.connect() as conn:
        events = [e for _, e in conn.execute(
            search_query("AuditEvent", parse_query("AuditEvent", []))
        )]  # fmt: skip
    named = {
        e["what"]["reference"]
        for event in events
        if event["purposeOfEvent"][0]["coding"][0]["code"] == "HPAYMT"
        for e in event["entity"]
    }
    assert {f"Encounter/{v.encounter_id}" for v in read} <= named
    assert {f"Patient/{v.person.id}" for v in read} <= named
