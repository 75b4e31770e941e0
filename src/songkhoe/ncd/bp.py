"""Office blood-pressure grade (mmHg); when SBP and DBP fall in different grades, the higher counts.

guideline="vn": Vietnamese Society of Hypertension / Vietnam National Heart Association (VSH/VNHA)
clinic grid, as published by VSH in 2018 (huyetap.vn, "Hướng dẫn phân độ tăng huyết áp theo mức
huyết áp đo tại phòng khám", 2018-12-28):

    optimal <120 and <80;  normal 120-129 and/or 80-84;  high_normal 130-139 and/or 85-89;
    grade1 140-159 and/or 90-99;  grade2 160-179 and/or 100-109;  grade3 >=180 and/or >=110

The VSH/VNHA 2022 summary is reported to keep this grid; its table could not be read here to
confirm, so the thresholds are cited to the 2018 publication.

guideline="ish2020": International Society of Hypertension, Unger T et al. 2020 ISH Global
Hypertension Practice Guidelines, Hypertension 2020;75:1334-57:

    normal <130 and <85;  high_normal 130-139 and/or 85-89;  grade1 140-159 and/or 90-99;
    grade2 >=160 and/or >=100

Where they differ: below 130/85 the Vietnamese grid separates optimal (<120/<80) from normal,
and above 160/100 it splits grade2 (160-179/100-109) from grade3 (>=180/>=110); ISH 2020 stops at
grade2.
Both put hypertension at >=140 and/or >=90.
"""

from typing import Any, Literal

import numpy as np

from songkhoe.ncd.inputs import as_float, plausible

_GRIDS = {
    "vn": (
        ("optimal", "normal", "high_normal", "grade1", "grade2", "grade3"),
        (120.0, 130.0, 140.0, 160.0, 180.0),
        (80.0, 85.0, 90.0, 100.0, 110.0),
    ),
    "ish2020": (
        ("normal", "high_normal", "grade1", "grade2"),
        (130.0, 140.0, 160.0),
        (85.0, 90.0, 100.0),
    ),
}


def bp_grade(sbp: Any, dbp: Any, guideline: Literal["vn", "ish2020"] = "vn") -> np.ndarray:
    """Grade code per reading ("" where either value is missing or implausible)."""
    codes, sbp_edges, dbp_edges = _GRIDS[guideline]
    sbp, dbp = as_float(sbp), as_float(dbp)
    level = np.maximum(np.digitize(sbp, sbp_edges), np.digitize(dbp, dbp_edges))
    known = plausible("sbp", sbp) & plausible("dbp", dbp)
    return np.where(known, np.asarray(codes)[level], "")
