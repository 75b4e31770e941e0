"""Side by side with R: every `songkhoe surveillance detect` method against R `surveillance` 1.20.3.

Installs Debian's `r-base-core r-cran-surveillance` when Rscript or the package is missing (root,
apt-get), then runs R and the port on the same series of ../shared/data/surveillance:
input_salmNewport_total.csv, input_salmNewport_by_state.csv (16 states) and the 12 Berlin districts
of ha_berlin_long_R_export.csv (with population), plus the shipped golden file as a fixed R
output. R runs through the existing reference scripts (tools/farrington_reference.R for
farrington, farrington-flexible and noufaily; tools/surveillance_reference.R --cases for ears-c1/2/3
and cusum); the port runs through songkhoe.surveillance.detect.detect on the series as
`songkhoe surveillance detect` reads them. Prints, per method and data set, the largest relative
difference of upper bounds and the number of differing alarms. Goal: <= 1e-6 relative and no
differing alarm; the exit status is 1 when a goal fails.

    python tools/surveillance_check.py [--data ../shared/data/surveillance] [--keep DIR]
"""

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from songkhoe.surveillance.detect import detect
from songkhoe.surveillance.series import WeeklySeries, read_series

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "tools"
RTOL = 1e-6
ALARM = {"TRUE": 1, "FALSE": 0, "NA": -1}
# CLI method -> (R script, the case/column name in its output, extra control for the port)
METHODS = {
    "ears-c1": ("cases", "C1", {}),
    "ears-c2": ("cases", "C2", {}),
    "ears-c3": ("cases", "C3", {}),
    "cusum": ("cases", "cusum", {}),
    "farrington": ("farrington", "farrington", {}),
    "farrington-flexible": ("farrington", "ff_default", {}),
    "noufaily": ("farrington", "ff_noufaily", {}),
    "farrington-flexible --population-offset": (
        "farrington",
        "ff_population",
        {"population_offset": True},
    ),
}
GOLDEN = {"ff_default": "farrington-flexible", "ff_noufaily": "noufaily"}
GOLDEN.update({"ears_c1": "ears-c1", "ears_c3": "ears-c3"})


def ensure_r() -> None:
    """Install R and surveillance from Debian unless Rscript can load surveillance 1.20.3."""
    probe = ["Rscript", "-e", 'stopifnot(packageVersion("surveillance") == "1.20.3")']
    if shutil.which("Rscript") and subprocess.run(probe, capture_output=True).returncode == 0:
        return
    print("installing r-base-core r-cran-surveillance from Debian (apt-get; minutes)")
    install = ["apt-get", "install", "-y", "-qq", "r-base-core", "r-cran-surveillance"]
    if subprocess.run(install).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(install, check=True)
    subprocess.run(probe, check=True)


def berlin_input(data: Path, out: Path) -> None:
    """ha_berlin_long_R_export.csv (R's ha.sts, long form) as unit,date,count,population."""
    with (data / "ha_berlin_long_R_export.csv").open() as src, out.open("w") as dst:
        writer = csv.writer(dst, lineterminator="\n")
        writer.writerow(["unit", "date", "count", "population"])
        for row in csv.DictReader(src):
            writer.writerow([row["unit"], row["date"], row["observed"], row["population"]])


def run_r(script: str, inp: Path, out: Path, n_last: int) -> list[dict[str, str]]:
    if script == "cases":
        cmd = ["Rscript", str(TOOLS / "surveillance_reference.R"), "--cases", str(inp), str(out)]
    else:
        cmd = ["Rscript", str(TOOLS / "farrington_reference.R"), str(inp), str(out)]
    subprocess.run([*cmd, str(n_last)], check=True, capture_output=True)
    with out.open() as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


def r_result(rows: list[dict[str, str]], script: str, name: str, shape: tuple[int, int]):
    """R's upper bounds and alarms (1/0/-1) as (units, weeks) arrays, units in input order."""
    if script == "cases":
        rows = [r for r in rows if r["case"] == name]
        ub_col, alarm_col = "upperbound", "alarm"
    else:
        ub_col, alarm_col = f"{name}_ub", f"{name}_alarm"
    ub = [float("nan") if r[ub_col] == "NA" else float(r[ub_col]) for r in rows]
    alarm = [ALARM[r[alarm_col]] for r in rows]
    return np.array(ub).reshape(shape), np.array(alarm).reshape(shape)


def relative_difference(port: np.ndarray, r: np.ndarray) -> float:
    """Largest |port - R| / |R| (0 where equal); NA on one side only counts as infinite."""
    nan_p, nan_r = np.isnan(port), np.isnan(r)
    if (nan_p != nan_r).any():
        return float("inf")
    p, q = port[~nan_p], r[~nan_r]
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(p == q, 0.0, np.abs(p - q) / np.abs(q))
    return float(rel.max(initial=0.0))


def port_result(series: WeeklySeries, method: str, n_last: int, control: dict):
    cli = method.split()[0]
    result = detect(series, cli, first=series.dates.size - n_last, **control)
    return np.atleast_2d(result.upperbound), np.atleast_2d(result.alarm)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/surveillance")
    parser.add_argument("--keep", type=Path, help="keep the inputs and R outputs in this folder")
    args = parser.parse_args()
    ensure_r()
    folder = Path(tempfile.mkdtemp()) if args.keep is None else args.keep
    folder.mkdir(parents=True, exist_ok=True)
    berlin_input(args.data, folder / "ha_berlin.csv")
    # data set -> (input, weeks evaluated): the last 104 weeks, like the golden file; Berlin has
    # 290 weeks, of which the last 26 have b=5 years of reference windows
    inputs = {
        "salmNewport total": (args.data / "input_salmNewport_total.csv", 104),
        "salmNewport 16 states": (args.data / "input_salmNewport_by_state.csv", 104),
        "hepatitis A Berlin (12)": (folder / "ha_berlin.csv", 26),
    }
    table: list[tuple[str, str, int, float, int]] = []
    for label, (path, n_last) in inputs.items():
        series = read_series(path)
        shape = (series.counts.shape[0], n_last)
        outputs = {
            script: run_r(script, path, folder / f"r_{script}_{path.stem}.csv", n_last)
            for script in ("cases", "farrington")
        }
        for method, (script, name, control) in METHODS.items():
            if control.get("population_offset") and series.population is None:
                continue
            ub_r, alarm_r = r_result(outputs[script], script, name, shape)
            ub, alarm = port_result(series, method, n_last, control)
            diff = relative_difference(ub, ub_r)
            table.append((method, label, ub.size, diff, int((alarm != alarm_r).sum())))

    series = read_series(args.data / "input_salmNewport_total.csv")
    with (args.data / "golden_salmNewport_total_R_surveillance_1.20.3.csv").open() as handle:
        golden = list(csv.DictReader(handle))
    for name, method in GOLDEN.items():
        ub_r, alarm_r = r_result(golden, "farrington", name, (1, len(golden)))
        ub, alarm = port_result(series, method, len(golden), {})
        diff = relative_difference(ub, ub_r)
        table.append(
            (method, "golden file (shipped R output)", ub.size, diff, int((alarm != alarm_r).sum()))
        )

    print(
        f"{'method':40s} {'data':31s} {'weeks':>6s} {'max rel diff ub':>16s} "
        f"{'alarms differing':>17s}"
    )
    failed = False
    for method, label, n, diff, differing in table:
        ok = diff <= RTOL and differing == 0
        failed |= not ok
        print(
            f"{method:40s} {label:31s} {n:6d} {diff:16.2e} {differing:17d}  "
            f"{'ok' if ok else 'FAIL'}"
        )
    print(
        f"goal: upper bounds within {RTOL:g} relative, alarms identical: "
        f"{'FAILED' if failed else 'met'}"
    )
    if args.keep is None:
        shutil.rmtree(folder)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
