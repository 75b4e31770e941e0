"""Validator cost: microseconds per resource of songkhoe.fhir.validation.validate (one walk of the
JSON that checks structure and primitive types, http://hl7.org/fhir/R4/datatypes.html) beside the
fhir.resources R4B pydantic model (`model_validate`) as the baseline, on the resources of the
synthetic population. Both run side by side in this process, best of --repeat passes each.
Goal: well under 100 us per resource (>= 5,000 resources/s for a FHIR transaction ingest).

    python bench/validation_rate.py [--people 2000] [--repeat 5]
"""

import argparse
import time
from collections.abc import Callable
from datetime import date

from fhir.resources.R4B import get_fhir_model_class

from songkhoe.fhir.validation import validate
from songkhoe.synth.population import generate

TYPES = ("Observation", "Patient", "Encounter")


def _best_us(check: Callable[[dict], object], resources: list[dict], repeat: int) -> float:
    """The best time of `repeat` passes over `resources`, in microseconds per resource."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for resource in resources:
            check(resource)
        best = min(best, time.perf_counter() - started)
    return best / len(resources) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    by_type: dict[str, list[dict]] = {t: [] for t in TYPES}
    for batch in generate(province_code="24", people=args.people, seed=1, as_of=date(2026, 1, 1)):
        for resource in batch:
            by_type.get(resource["resourceType"], []).append(resource)
    print(f"{'type':12} {'count':>7} {'walk us':>9} {'pydantic us':>12} {'ratio':>7}")
    for resource_type, resources in by_type.items():
        model = get_fhir_model_class(resource_type)
        walk = _best_us(validate, resources, args.repeat)
        pydantic = _best_us(model.model_validate, resources, args.repeat)
        print(
            f"{resource_type:12} {len(resources):7,} {walk:9.1f} {pydantic:12.1f} "
            f"{pydantic / walk:6.1f}x"
        )


if __name__ == "__main__":
    main()
