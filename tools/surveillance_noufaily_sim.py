"""The Noufaily et al. (2013) simulation: the port against R `surveillance` 1.20.3, same series.

tools/surveillance_noufaily_sim.R draws the 42 scenarios x NREP series of
../shared/data/surveillance/noufaily_sim_R/noufaily_sim.R (same generator, reproducible) and runs
R's four detectors on weeks 576-624; this script runs the port on those very series and prints, per
scenario and method, the false-positive rate (alarms in non-outbreak weeks / non-outbreak weeks)
and the probability of detection (replicates with an alarm in an outbreak week / replicates with
an outbreak week) of R and of the port, plus the largest relative difference of upper bounds and
the number of differing alarms. Tests of "equal within simulation noise":

- same series (paired): exact McNemar test on the week-level alarms of R and the port (only the
  discordant weeks count; none means p = 1);
- against the shared run ../shared/data/surveillance/noufaily_sim_R (R on other random series, as
  mclapply drew them): per scenario, Fisher's exact test on the false-positive counts and on the
  detections, port vs that run; under equal rates about 5% of the p-values fall below 0.05.

It lives in tools/ (not bench/) because it checks agreement with R, not speed. It needs R
(`apt-get install -y r-base-core r-cran-surveillance`), unless --dir already holds R's output.

    python tools/surveillance_noufaily_sim.py [--nrep 10] [--alpha 0.01] [--dir DIR] [--shared DIR]
"""

import argparse
import csv
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from songkhoe.surveillance.ears import ears_c
from songkhoe.surveillance.farrington import farrington_flexible

ROOT = Path(__file__).resolve().parent.parent
R_SCRIPT = ROOT / "tools" / "surveillance_noufaily_sim.R"
SHARED = ROOT.parent / "shared" / "data" / "surveillance" / "noufaily_sim_R"
FIRST = 575  # week 576 (R, 1-based) to 624 are evaluated
METHODS = ("far", "nou", "c1", "c3")
ALARM = {"TRUE": 1, "FALSE": 0, "NA": -1}

# noufaily_sim.R's con.far and con.nou (R names in snake_case), on an sts without dates
FAR = dict(
    b=5,
    w=3,
    reweight=True,
    weights_threshold=1.0,
    trend=True,
    trend_threshold=0.05,
    limit54=(5, 4),
    power_trans="2/3",
    no_periods=1,
    past_weeks_not_included=3,
    threshold_method="delta",
)
NOU = {
    **FAR,
    "weights_threshold": 2.58,
    "trend_threshold": 1.0,
    "no_periods": 10,
    "past_weeks_not_included": 26,
    "threshold_method": "nbPlugin",
}


@dataclass(frozen=True)
class Simulation:
    """The simulated series (one row per scenario and replicate) and R's results on them."""

    scenario: np.ndarray  # (s,)
    counts: np.ndarray  # (s, 624)
    state: np.ndarray  # (s, 49) bool: outbreak weeks among 576-624
    r_upper: dict[str, np.ndarray]  # method -> (s, 49)
    r_alarm: dict[str, np.ndarray]  # method -> (s, 49), 1/0/-1


def read_simulation(folder: Path) -> Simulation:
    """Read noufaily_sim_series.csv and noufaily_sim_R.csv written by the R script."""
    with (folder / "noufaily_sim_series.csv").open() as handle:
        series = list(csv.DictReader(handle))
    key = {(int(r["scenario"]), int(r["rep"])): i for i, r in enumerate(series)}
    n_eval = len(series[0]["state"].split())
    upper = {m: np.full((len(series), n_eval), np.nan) for m in METHODS}
    alarm = {m: np.zeros((len(series), n_eval), dtype=np.int8) for m in METHODS}
    with (folder / "noufaily_sim_R.csv").open() as handle:
        for r in csv.DictReader(handle):
            i, j = key[int(r["scenario"]), int(r["rep"])], int(r["week"]) - 1 - FIRST
            upper[r["method"]][i, j] = (
                float("nan") if r["upperbound"] == "NA" else float(r["upperbound"])
            )
            alarm[r["method"]][i, j] = ALARM[r["alarm"]]
    return Simulation(
        scenario=np.array([int(r["scenario"]) for r in series]),
        counts=np.array([r["counts"].split() for r in series], dtype=float),
        state=np.array([r["state"].split() for r in series], dtype=int).astype(bool),
        r_upper=upper,
        r_alarm=alarm,
    )


def run_port(counts: np.ndarray, alpha: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The port's upper bounds and alarms for the four detectors of noufaily_sim.R."""
    results = {
        "far": farrington_flexible(counts, None, first=FIRST, alpha=alpha, **FAR),
        "nou": farrington_flexible(counts, None, first=FIRST, alpha=alpha, **NOU),
        "c1": ears_c(counts, first=FIRST, method="C1", alpha=alpha),
        "c3": ears_c(counts, first=FIRST, method="C3", alpha=alpha),
    }
    return {m: (r.upperbound, r.alarm) for m, r in results.items()}


def max_relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Largest |a - b| / |b|; NaN in both counts as equal, in one only as infinite."""
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    if (nan_a != nan_b).any():
        return float("inf")
    a, b = a[~nan_a], b[~nan_b]
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(a == b, 0.0, np.abs(a - b) / np.abs(b))
    return float(rel.max(initial=0.0))


def rates(alarm: np.ndarray, state: np.ndarray) -> tuple[int, int, int, int]:
    """(false positives, non-outbreak weeks, detections, replicates with outbreak weeks), R's
    way: an undecided week (NA) is no alarm."""
    fires = alarm == 1
    has = state.any(axis=1)
    return (
        int((fires & ~state).sum()),
        int((~state).sum()),
        int((fires & state).any(axis=1)[has].sum()),
        int(has.sum()),
    )


def mcnemar_p(a: np.ndarray, b: np.ndarray) -> float:
    """Exact McNemar test of paired alarms a, b (two-sided binomial test on discordant pairs)."""
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    if only_a + only_b == 0:
        return 1.0
    return float(stats.binomtest(only_a, only_a + only_b, 0.5).pvalue)


def read_shared(folder: Path, alpha: float) -> dict[tuple[int, str], tuple[int, int, int, int]]:
    """(scenario, method) -> (fp, neg, det, with outbreak) from the shared run's largest file."""
    files = sorted(folder.glob(f"noufaily_sim_raw_alpha{alpha}_nrep*.csv"))
    if not files:
        return {}
    best = max(files, key=lambda p: int(p.stem.rsplit("nrep", 1)[1]))
    with best.open() as handle:
        rows = list(csv.DictReader(handle))
    out = {}
    for scenario in sorted({int(float(r["scenario"])) for r in rows}):
        sub = [r for r in rows if int(float(r["scenario"])) == scenario]
        has = [r for r in sub if float(r["ob_weeks"]) > 0]
        for m in METHODS:
            out[scenario, m] = (
                int(sum(float(r[f"{m}_fp"]) for r in sub)),
                int(sum(float(r[f"{m}_neg"]) for r in sub)),
                int(sum(float(r[f"{m}_det"]) for r in has)),
                len(has),
            )
    print(f"shared R run: {best} ({len(rows)} replicates)")
    return out


def fisher_p(x1: int, n1: int, x2: int, n2: int) -> float:
    if n1 == 0 or n2 == 0:
        return float("nan")
    return float(stats.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]]).pvalue)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nrep", type=int, default=10)
    parser.add_argument("--alpha", type=float, default=0.01)
    parser.add_argument("--dir", type=Path, default=Path("var/noufaily_sim"))
    parser.add_argument("--shared", type=Path, default=SHARED)
    args = parser.parse_args()
    if not (args.dir / "noufaily_sim_R.csv").exists():
        args.dir.mkdir(parents=True, exist_ok=True)
        print(f"running R: {R_SCRIPT.name} {args.nrep} {args.alpha} {args.dir} (minutes)")
        subprocess.run(
            ["Rscript", str(R_SCRIPT), str(args.nrep), str(args.alpha), str(args.dir)], check=True
        )
    sim = read_simulation(args.dir)
    port = run_port(sim.counts, args.alpha)
    shared = read_shared(args.shared, args.alpha)
    scenarios = np.unique(sim.scenario)
    n_rep = sim.counts.shape[0] // scenarios.size
    print(f"{scenarios.size} scenarios x {n_rep} replicates, alpha={args.alpha}, weeks 576-624")

    failed = False
    print("\nsame series, R vs port (all scenarios pooled)")
    print(
        "method  max rel diff ub  differing alarms  McNemar p  FPR R     FPR port  POD R  POD port"
    )
    for m in METHODS:
        ub, alarm = port[m]
        diff = max_relative_difference(ub, sim.r_upper[m])
        differing = int((alarm != sim.r_alarm[m]).sum())
        p = mcnemar_p(sim.r_alarm[m] == 1, alarm == 1)
        r_fp, neg, r_det, has = rates(sim.r_alarm[m], sim.state)
        p_fp, _, p_det, _ = rates(alarm, sim.state)
        print(
            f"{m:6s}  {diff:15.2e}  {differing:16d}  {p:9.3f}  {r_fp / neg:.5f}  {p_fp / neg:.5f}"
            f"   {r_det / has:.3f}  {p_det / has:.3f}"
        )
        failed |= p < 0.05

    print("\nper scenario: FPR and POD, R / port on the same series; shared run and Fisher p")
    print("scen method  FPR R   FPR port  POD R  POD port | shared FPR  p     POD    p")
    low_p, n_tests = 0, 0
    for scenario in scenarios:
        rows = sim.scenario == scenario
        for m in METHODS:
            r_fp, neg, r_det, has = rates(sim.r_alarm[m][rows], sim.state[rows])
            p_fp, _, p_det, _ = rates(port[m][1][rows], sim.state[rows])
            line = (
                f"{scenario:4d} {m:6s} {r_fp / neg:.4f}  {p_fp / neg:.4f}   "
                f"{r_det / max(has, 1):.2f}   {p_det / max(has, 1):.2f}  |"
            )
            if (scenario, m) in shared:
                s_fp, s_neg, s_det, s_has = shared[scenario, m]
                pf = fisher_p(p_fp, neg, s_fp, s_neg)
                pd = fisher_p(p_det, has, s_det, s_has)
                line += f" {s_fp / s_neg:.4f}  {pf:.3f}  {s_det / max(s_has, 1):.2f}  {pd:.3f}"
                low_p += sum(p < 0.05 for p in (pf, pd) if p == p)
                n_tests += sum(p == p for p in (pf, pd))
            print(line)
    if n_tests:
        print(
            f"\nFisher tests against the shared run: {low_p} of {n_tests} with p < 0.05 "
            f"(about {0.05 * n_tests:.0f} expected when the rates are equal)"
        )
        print("pooled over scenarios, port vs the shared run (other random series):")
        for m in METHODS:
            p_fp, neg, p_det, has = rates(port[m][1], sim.state)
            totals = np.array([v for (_, method), v in shared.items() if method == m]).sum(axis=0)
            s_fp, s_neg, s_det, s_has = (int(v) for v in totals)
            print(
                f"  {m:4s} FPR {p_fp / neg:.4f} vs {s_fp / s_neg:.4f} "
                f"(Fisher p {fisher_p(p_fp, neg, s_fp, s_neg):.3f}), POD {p_det / has:.3f} vs "
                f"{s_det / s_has:.3f} (p {fisher_p(p_det, has, s_det, s_has):.3f})"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
