"""Lung-cancer screening eligibility: USPSTF 2021 (US Preventive Services Task Force. Screening for
lung cancer: recommendation statement. JAMA 2021;325(10):962-70).

Annual low-dose CT for adults aged 50 to 80 years with a 20 pack-year smoking history who currently
smoke or have quit within the past 15 years; screening stops once a person has not smoked for 15
years. Ages are completed years (80.9 is still 80), so eligible means 50 <= age < 81,
pack_years >= 20, and current smoker or former smoker with years_since_quit < 15. The statement's
other stopping rule (a health problem that limits life expectancy or the ability or willingness to
have curative lung surgery) is a clinical judgement outside these inputs.
"""

from typing import Any

import numpy as np

from songkhoe.ncd.inputs import as_float


def lung_ct_eligible(
    age: Any, smoker_status: Any, pack_years: Any, years_since_quit: Any
) -> np.ndarray:
    """True where the person is eligible for annual LDCT; False where not, or where an input it
    needs is missing (`lung_ct_known` tells the two apart). smoker_status: "current", "former",
    "never"."""
    age, pack_years, quit = as_float(age), as_float(pack_years), as_float(years_since_quit)
    status = np.asarray(smoker_status)
    smoking = (status == "current") | ((status == "former") & (quit < 15))
    return (age >= 50) & (age < 81) & (pack_years >= 20) & smoking


def lung_ct_known(
    age: Any, smoker_status: Any, pack_years: Any, years_since_quit: Any
) -> np.ndarray:
    """True where the inputs decide eligibility: every criterion is known to hold, or one is known
    to fail (a never smoker, age outside 50-80, under 20 pack-years, quit 15 or more years ago)."""
    age, pack_years, quit = as_float(age), as_float(pack_years), as_float(years_since_quit)
    status = np.asarray(smoker_status)
    fails = (
        (status == "never")
        | (age < 50)
        | (age >= 81)
        | (pack_years < 20)
        | ((status == "former") & (quit >= 15))
    )
    return fails | lung_ct_eligible(age, status, pack_years, quit)
