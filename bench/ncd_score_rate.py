"""NCD risk scoring rate: the vectorised path against the per-person wrapper, in the same run.

    vectorised  songkhoe.ncd.scores.score_arrays on every synthetic person at once (WHO CVD lab
                risk with its note and band, FINDRISC, BP grade, lung CT eligibility, COPD-PS);
    per-person  songkhoe.ncd.scores.score_person, one call per person, on the first --sample people;
                its rate is extrapolated to the whole population (stated in the output).
Both paths run the same array code; the ratio is the cost of calling it once per person.
Goal: vectorised >= 50x the per-person rate and <= 2 s for 1,000,000 people.

    python bench/ncd_score_rate.py [--people 1000000] [--sample 20000]
"""

import argparse
import time

import numpy as np

from songkhoe.ncd.scores import score_arrays, score_person


def synthetic_people(people: int, seed: int = 1) -> dict[str, np.ndarray]:
    """Check-up inputs in plausible adult ranges, about 5% of each measurement missing."""
    rng = np.random.default_rng(seed)

    def gaps(values: np.ndarray) -> np.ndarray:
        return np.where(rng.random(people) < 0.05, np.nan, values)

    def flag(p: float) -> np.ndarray:
        return (rng.random(people) < p).astype(np.float64)

    age = rng.integers(30, 86, people).astype(np.float64)
    smoker = flag(0.25)
    former = (smoker == 0) & (rng.random(people) < 0.15)
    sbp = np.round(rng.normal(132, 20, people).clip(85, 230))
    return {
        "sex": rng.choice(np.array(["male", "female"]), people),
        "age": age,
        "smoker": smoker,
        "diabetes": flag(0.08),
        "sbp": gaps(sbp),
        "dbp": gaps(np.round(np.minimum(sbp * 0.6 + rng.normal(0, 8, people), sbp - 25).clip(40))),
        "total_cholesterol_mmol": gaps(np.round(rng.normal(5.2, 1.0, people).clip(2.5, 10), 1)),
        "bmi": gaps(np.round(rng.normal(23, 3.5, people).clip(15, 45), 1)),
        "waist_cm": gaps(np.round(rng.normal(82, 10, people).clip(55, 140))),
        "physically_active": flag(0.5),
        "daily_vegetables": flag(0.7),
        "bp_medication": flag(0.15),
        "history_high_glucose": flag(0.05),
        "family_diabetes": rng.choice(
            np.array(["none", "second", "first"]), people, p=[0.7, 0.1, 0.2]
        ),
        "pack_years": np.where((smoker == 1) | former, np.round(rng.gamma(2, 10, people)), np.nan),
        "years_since_quit": np.where(
            former, np.minimum(rng.integers(0, 40, people), age - 15), np.nan
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000)
    args = parser.parse_args()
    columns = synthetic_people(args.people)

    started = time.perf_counter()
    scores = score_arrays(columns, args.people)
    vector_seconds = time.perf_counter() - started
    vector_rate = args.people / vector_seconds

    sample = min(args.sample, args.people)
    people = [
        {name: values[i].item() for name, values in columns.items() if values[i] == values[i]}
        for i in range(sample)
    ]
    started = time.perf_counter()
    results = [score_person(**person) for person in people]
    person_seconds = time.perf_counter() - started
    person_rate = sample / person_seconds

    # the two paths must agree on the sample
    vector_risk = scores["who_cvd_lab_pct"][:sample]
    person_risk = np.array(
        [np.nan if r.who_cvd_lab_pct is None else r.who_cvd_lab_pct for r in results]
    )
    np.testing.assert_allclose(person_risk, vector_risk, rtol=1e-12, equal_nan=True)

    scored = np.count_nonzero(~np.isnan(scores["who_cvd_lab_pct"]))
    print(
        f"vectorised  {vector_rate:12,.0f} people/s  ({args.people:,} people in "
        f"{vector_seconds:.2f} s; {scored:,} with a WHO CVD risk)"
    )
    print(
        f"per-person  {person_rate:12,.0f} people/s  ({sample:,} people in {person_seconds:.2f} s;"
        f" extrapolated: {args.people / person_rate:,.0f} s for {args.people:,})"
    )
    ratio = vector_rate / person_rate
    print(
        f"ratio       {ratio:12,.0f} x  (goal >= 50x: {'met' if ratio >= 50 else 'NOT met'}; "
        f"<= 2 s for 1,000,000: {'met' if vector_seconds * 1e6 / args.people <= 2 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
