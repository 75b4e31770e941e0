"""The accountant's month against the STAND-IN gateway of this suite (standin_gateway.py): a
month's claims are exported and sent, a refused one is not sent again until it is corrected,
corrected and exported again it is sent and received, and each answer is on its claim."""

import base64
from collections.abc import Iterator
from xml.etree import ElementTree

import pytest

from songkhoe.claims.submissions import State, standing
from songkhoe.cli import main
from songkhoe.fhir.queries import live, referencing

from .standin_gateway import PASSWORD, USERNAME, StandInGateway, inner_keys, serve
from .test_export import _configure

MONTH = ("--from", "2026-11-01", "--to", "2026-11-30")


@pytest.fixture
def gateway(monkeypatch) -> Iterator[StandInGateway]:
    stand_in = StandInGateway()
    server, url = serve(stand_in)
    monkeypatch.setenv("SONGKHOE_BHXH_URL", url)
    monkeypatch.setenv("SONGKHOE_BHXH_USERNAME", USERNAME)
    monkeypatch.setenv("SONGKHOE_BHXH_PASSWORD", PASSWORD)
    yield stand_in
    server.shutdown()


def _run(capsys, *args: str) -> tuple[int, list[str], str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_.value.code, out.splitlines(), err


def _standings(store) -> dict[str, State]:
    with store.engine.connect() as conn:
        claims = list(conn.execute(live("Claim")).scalars())
        result = {}
        for claim in claims:
            answered = referencing("ClaimResponse", "request", [claim["id"]], "Claim")
            responses = list(conn.execute(live("ClaimResponse", answered)).scalars())
            result[claim["identifier"][0]["value"]] = standing(claim, responses).state
    return result


def test_a_month_is_sent_a_refused_claim_corrected_and_sent_again(
    store, tmp_path, capsys, monkeypatch, facility, gateway
) -> None:
    _configure(monkeypatch, store, tmp_path, facility)
    assert _run(capsys, "synth", "--province", "24", "--people", "800", "--seed", "5",
                "--as-of", "2026-11-30")[0] == 0  # fmt: skip
    out = tmp_path / "claims"
    code, _, _ = _run(capsys, "bhyt", "export", "--province", "24", *MONTH, "--output", str(out))
    assert code == 0
    files = sorted(out.glob("*.xml"))
    assert len(files) >= 10
    assert set(_standings(store).values()) == {State.BUILT}

    code, lines, err = _run(capsys, "bhyt", "send", str(out))
    assert code == 2 and "synthetic" in err and gateway.received == []

    refused = files[0].stem
    gateway.rejections[refused] = "XML1.MA_BENH_CHINH: mã bệnh chính không phù hợp"
    code, lines, _ = _run(capsys, "bhyt", "send", str(out), "--allow-synthetic")
    assert code == 1
    assert f"{refused}.xml: 500 GD00000001 XML1.MA_BENH_CHINH: mã bệnh chính không phù hợp" in lines
    assert lines[-1].endswith(
        f"sent {len(files):,}, received {len(files) - 1:,}, refused 1, no answer 0, "
        "left as they were 0"
    )
    states = _standings(store)
    assert states.pop(refused) is State.REJECTED and set(states.values()) == {State.ACCEPTED}

    # sent again as it is: nothing goes out, the refused claim waits for its correction
    uploads = len(gateway.received)
    code, lines, _ = _run(capsys, "bhyt", "send", str(out), "--allow-synthetic")
    assert code == 0 and len(gateway.received) == uploads
    assert lines[-1].endswith(f"left as they were {len(files):,}")

    # the doctor corrects the main diagnosis; exported again, only that claim changed
    encounter = store.read("Encounter", refused)
    encounter["reasonCode"][0]["coding"][0]["code"] = "I11.9"
    store.update({k: v for k, v in encounter.items() if k != "meta"})
    del gateway.rejections[refused]
    assert _run(capsys, "bhyt", "export", "--province", "24", *MONTH, "--output", str(out))[0] == 0
    assert _standings(store)[refused] is State.BUILT
    code, lines, _ = _run(capsys, "bhyt", "send", str(out), "--allow-synthetic")
    assert code == 0
    assert lines[-1].endswith(
        f"sent 1, received 1, refused 0, no answer 0, left as they were {len(files) - 1:,}"
    )
    assert set(_standings(store).values()) == {State.ACCEPTED}
    last = ElementTree.fromstring(base64.b64decode(gateway.received[-1].form["fileHSBase64"]))
    assert inner_keys(last) == [refused]  # the corrected claim, and only it, went out again
