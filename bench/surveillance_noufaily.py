"""Noufaily preset on every commune: the port against R `surveillance` 1.20.3, same data, same run.

    port   songkhoe.surveillance.detect(series, "noufaily") on all --communes series at once,
           the last 52 weeks evaluated (farringtonFlexible, Noufaily et al. 2013 preset: b=4, w=3,
           noPeriods=10, pastWeeksNotIncluded=26, nbPlugin, alpha=0.1);
    R      Rscript, farringtonFlexible with the same control on the first --r-sample series of the
           same data (one multi-series sts, dates as epochs), timed inside R by system.time and
           scaled linearly to all communes (R loops over series and weeks, so it is linear);
           skipped, with a note, when Rscript or the package is missing;
    reader songkhoe.surveillance.series.read_series on the same counts written as CSV
           (unit,date,count,population: one row per commune and week), against the row-by-row
           parse_rows (the reader's own fallback for files with a problem) in the same run.
The port's upper bounds and alarms are checked against R's on the sample. Goal: port >= 50x R.
Both run on one core (the port with OPENBLAS_NUM_THREADS=1 unless set otherwise); times are
wall-clock (and CPU) seconds of the fastest of --repeat runs of each, so run it on an otherwise
idle machine: on a busy one the CPU figures are the steadier.

Synthetic data (seeded): dengue-like weekly counts for 3,321 communes over 6 years + 1 week;
commune populations log-normal (median 25,000), a log-normal commune risk (many communes with
almost no cases), a yearly epidemic factor, seasonality peaking in September-October, negative
binomial noise and a few outbreaks.

    python bench/surveillance_noufaily.py [--communes 3321] [--r-sample 40] [--repeat 3]
"""

import os

# one thread, as R (reference BLAS): the port's small matrix products gain nothing from more
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from songkhoe.surveillance.detect import detect  # noqa: E402
from songkhoe.surveillance.series import WeeklySeries, parse_rows, read_series  # noqa: E402

COMMUNES = 3321  # communes of Vietnam after the 2025 merger
YEARS = 6
N_EVAL = 52
FIRST_MONDAY = np.datetime64("2019-12-30")

R_PROGRAM = r"""
suppressMessages(library(surveillance))
args <- commandArgs(TRUE)
d <- read.csv(args[1], colClasses = c(date = "character"))
units <- unique(d$unit)
dates <- as.Date(unique(d$date))
obs <- sapply(units, function(u) d$count[d$unit == u])
x <- sts(observed = obs, epoch = dates, epochAsDate = TRUE, frequency = 52)
n_eval <- as.integer(args[3])
con <- list(range = (nrow(obs) - n_eval + 1):nrow(obs), noPeriods = 10, b = 4, w = 3,
            weightsThreshold = 2.58, pastWeeksNotIncluded = 26, pThresholdTrend = 1,
            thresholdMethod = "nbPlugin", alpha = 0.1)
best <- c(Inf, Inf)
for (i in seq_len(as.integer(args[4]))) {
  times <- system.time(r <- suppressWarnings(farringtonFlexible(x, con)))
  cpu <- times[["user.self"]] + times[["sys.self"]]
  if (times[["elapsed"]] < best[1]) best <- c(times[["elapsed"]], cpu)
}
ub <- upperbound(r)
al <- alarms(r)
write.csv(data.frame(ub = sprintf("%.17g", as.vector(ub)), alarm = as.vector(al)), args[2],
          row.names = FALSE, quote = FALSE)
cat(best, "\n")
"""


def synthetic_dengue(communes: int, seed: int = 4) -> WeeklySeries:
    """Weekly dengue-like counts per commune (see the module doc)."""
    rng = np.random.default_rng(seed)
    n_weeks = 52 * YEARS + 1
    dates = FIRST_MONDAY + 7 * np.arange(n_weeks)
    population = np.round(np.exp(rng.normal(np.log(25_000), 0.6, communes))).clip(2_000, 300_000)
    risk = np.exp(rng.normal(-0.5, 1.2, communes))
    week_of_year = np.arange(n_weeks) % 52
    season = 1.1 * np.cos(2 * np.pi * (week_of_year - 38) / 52)
    year_factor = np.repeat(np.exp(rng.normal(0, 0.4, YEARS + 1)), 52)[:n_weeks]
    mu = (3e-5 * population * risk)[:, None] * np.exp(season) * year_factor
    size = 1.5
    counts = rng.negative_binomial(size, size / (size + mu)).astype(float)
    for i in rng.choice(communes, communes // 20, replace=False):  # 5% of communes: an outbreak
        start = rng.integers(0, n_weeks - 6)
        counts[i, start : start + 6] += rng.poisson(3 + 3 * mu[i, start], 6)
    return WeeklySeries(
        dates=dates.astype("datetime64[D]"),
        counts=counts,
        units=tuple(f"{i:05d}" for i in range(communes)),
        population=np.repeat(population[:, None], n_weeks, axis=1),
    )


def write_csv(series: WeeklySeries, path: Path, units: int | None = None) -> None:
    """Long CSV as `songkhoe surveillance detect` reads it: unit,date,count,population."""
    n = series.counts.shape[0] if units is None else units
    dates = series.dates.astype(str)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["unit", "date", "count", "population"])
        for i in range(n):
            pop = int(series.population[i, 0])
            for day, count in zip(dates, series.counts[i].astype(int), strict=True):
                writer.writerow([series.units[i], day, count, pop])


def r_available() -> str | None:
    """Why R cannot run, or None when Rscript and surveillance 1.20.3 are there."""
    if shutil.which("Rscript") is None:
        return "Rscript not found (apt-get install -y r-base-core r-cran-surveillance)"
    check = subprocess.run(
        ["Rscript", "-e", 'cat(as.character(packageVersion("surveillance")))'],
        capture_output=True,
        text=True,
    )
    if check.returncode != 0:
        return "R package surveillance not installed (apt-get install -y r-cran-surveillance)"
    return None


def run_r(
    series: WeeklySeries, sample: int, folder: Path, repeat: int
) -> tuple[tuple[float, float], np.ndarray, np.ndarray]:
    """R's wall and CPU time (s; the fastest of `repeat` runs) on the first `sample` series, and
    its upper bounds and alarms (sample, 52)."""
    data, out, program = folder / "sample.csv", folder / "r_out.csv", folder / "bench.R"
    write_csv(series, data, sample)
    program.write_text(R_PROGRAM)
    done = subprocess.run(
        ["Rscript", str(program), str(data), str(out), str(N_EVAL), str(repeat)],
        capture_output=True,
        text=True,
        check=True,
    )
    wall, cpu = map(float, done.stdout.split()[-2:])
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    ub = np.array([float("nan") if r["ub"] == "NA" else float(r["ub"]) for r in rows])
    alarm = np.array([{"TRUE": 1, "FALSE": 0, "NA": -1}[r["alarm"]] for r in rows])
    # R's matrices are weeks x series, written column by column
    return (wall, cpu), ub.reshape(sample, N_EVAL), alarm.reshape(sample, N_EVAL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communes", type=int, default=COMMUNES)
    parser.add_argument("--r-sample", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the fastest counts")
    args = parser.parse_args()
    series = synthetic_dengue(args.communes)
    n_series, n_weeks = series.counts.shape
    zero = (series.counts[:, -N_EVAL:] == 0).mean()
    print(
        f"data        {n_series:,} communes x {n_weeks} weeks ({series.counts.sum():,.0f} cases; "
        f"{zero:.0%} of the evaluated commune-weeks have no case)"
    )

    port = (float("inf"), float("inf"))
    for _ in range(args.repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = detect(series, "noufaily", first=n_weeks - N_EVAL)
        port = min(port, (time.perf_counter() - started, time.process_time() - cpu_started))
    alarms = int((result.alarm == 1).sum())
    print(
        f"port        {port[0]:10.2f} s wall {port[1]:10.2f} s CPU  ({n_series:,} series x "
        f"{N_EVAL} weeks, {alarms:,} alarms)"
    )

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "all.csv"
        write_csv(series, path)
        started = time.perf_counter()
        parsed = read_series(path)
        read_seconds = time.perf_counter() - started
        assert np.array_equal(parsed.counts, series.counts)
        assert np.array_equal(parsed.population, series.population)
        started = time.perf_counter()
        with path.open(newline="") as handle:
            row_by_row = parse_rows(list(csv.reader(handle)))
        baseline = time.perf_counter() - started
        assert np.array_equal(row_by_row.counts, parsed.counts)
        print(
            f"reader      {read_seconds:10.2f} s  ({n_series * n_weeks:,} rows, "
            f"{path.stat().st_size / 1e6:.0f} MB; row by row with parse_rows {baseline:.2f} s, "
            f"{baseline / read_seconds:.1f}x)"
        )

        missing = r_available()
        if missing:
            print(f"R           not run: {missing}; the port's time only")
            return
        sample = min(args.r_sample, n_series)
        r_seconds, r_ub, r_alarm = run_r(series, sample, folder, args.repeat)
    np.testing.assert_allclose(result.upperbound[:sample], r_ub, rtol=1e-6, equal_nan=True)
    differing = int((result.alarm[:sample] != r_alarm).sum())
    r_scaled = [t * n_series / sample for t in r_seconds]
    print(
        f"R           {r_scaled[0]:10.0f} s wall {r_scaled[1]:10.0f} s CPU  scaled from "
        f"{r_seconds[0]:.1f} s wall, {r_seconds[1]:.1f} s CPU on {sample} series (same data; "
        f"upper bounds within 1e-6 relative, {differing} differing alarms)"
    )
    for kind, r_time, port_time in zip(("wall", "CPU"), r_scaled, port, strict=True):
        ratio = r_time / port_time
        verdict = "met" if ratio >= 50 else "NOT met"
        print(f"ratio {kind:4s}  {ratio:10.1f} x  (goal >= 50x: {verdict})")


if __name__ == "__main__":
    main()
