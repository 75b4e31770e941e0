"""`songkhoe demo` on an empty database: a synthetic province, its surveillance alert, demo
accounts for every kind of user and specialty queues, so each part of the app can be tried."""

import uvicorn

from songkhoe.auth.service import user_id_of
from songkhoe.cli import main
from songkhoe.db.engine import make_engine
from songkhoe.fhir.store import ResourceStore
from songkhoe.telehealth.queues import queues_of


def test_demo_sets_up_everything_it_names(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("SONGKHOE_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    served = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append(kw))
    tuned = []  # serve tunes the process's garbage collector (not this test process's)
    monkeypatch.setattr("songkhoe.runtime.tune_for_server", lambda: tuned.append(True))
    try:
        main(["demo", "--people", "300"])
    except SystemExit as exit_info:
        assert exit_info.code == 0
    out = capsys.readouterr().out
    assert served and tuned and "new alerts" in out
    accounts = (tmp_path / "var/demo-accounts.txt").read_text().splitlines()
    roles = {line.split()[0]: line.split()[2] for line in accounts}
    assert roles == {
        "admin": "admin",
        "yte.xa": "commune_health_worker",
        "ketoan": "insurance_accountant",
        "bacsi": "doctor",
        "quanly": "provincial_manager",
        "xquang": "radiologist",
        "chuyengia": "specialist",
        "chuyengia.dp": "specialist",
    }
    store = ResourceStore(make_engine(url))
    queues = queues_of(store, user_id_of(store.engine, "chuyengia"))
    assert {q.specialty for q in queues} == {"cardiology", "pulmonology", "radiology",
                                             "endocrinology"}  # fmt: skip
    assert all(q.backups for q in queues)
