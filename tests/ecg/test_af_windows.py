"""RR-only AF windows: the windowing rule on hand-worked beat times, regular against
irregular rhythms, real AF and sinus recordings joined end to end, and bad beat times."""

import numpy as np
import pytest

from songkhoe.ecg import service
from songkhoe.ecg.af_windows import InvalidBeats, detect, windows
from songkhoe.ecg.features import FS
from songkhoe.ecg.peaks import r_peaks


def test_windows_from_the_first_beat_and_a_short_last_one_dropped():
    # Beats every second from 2 s to 102 s, 30-s windows: 2-32, 32-62, 62-92; the last one
    # 92-102 is 10 s, shorter than 15 s, dropped.
    assert windows(np.arange(2.0, 103.0), 30) == [(2, 32), (32, 62), (62, 92)]
    # To 107 s the last one is 92-107, 15 s: half the length is kept.
    assert windows(np.arange(2.0, 108.0), 30)[-1] == (92, 107)


def test_regular_rhythm_is_not_af_and_random_intervals_are():
    rng = np.random.default_rng(1)
    # Sinus rhythm with 2 % beat-to-beat variation around 0.8 s, for 5 minutes: 10 windows.
    sinus = np.cumsum(0.8 * (1 + 0.02 * rng.standard_normal(375)))
    # AF as a test model: independent intervals, mean 0.7 s, coefficient of variation 0.2,
    # for about 5 minutes (430 beats, 10 windows).
    af = np.cumsum(np.clip(rng.normal(0.7, 0.14, 430), 0.3, 2.0))
    assert not any(w.af for w in detect(sinus))
    assert all(w.af for w in detect(af))
    assert len(detect(sinus)) == 10


def test_real_af_and_sinus_recordings_joined(cinc):
    # Four held-out AF recordings then four held-out normal ones, their R-peaks joined end to
    # end (each recording's first beat one median RR after the previous one's last): the
    # windows wholly inside the AF part are AF, those wholly inside the sinus part are not.
    held = set(service.validation_report()["split"]["held_out_records"])
    reference = dict(line.split(",") for line in (cinc / "REFERENCE.csv").read_text().split())
    names = [n for n in sorted(held) if reference[n] == "A"][:4]
    names += [n for n in sorted(held) if reference[n] == "N"][:4]
    times, offset, boundary = [], 0.0, 0.0
    for i, name in enumerate(names):
        beat = r_peaks(service.read(cinc / "records" / name).analysis_lead(), FS) / FS
        times.append(offset + beat - beat[0])
        offset = times[-1][-1] + float(np.median(np.diff(beat)))
        if i == 3:
            boundary = offset
    found = service.af_windows(np.concatenate(times))
    af_part = [w for w in found if w.end_s <= boundary]
    sinus_part = [w for w in found if w.start_s >= boundary]
    assert af_part and sinus_part
    assert sum(w.af for w in af_part) >= len(af_part) - 1
    assert not any(w.af for w in sinus_part)


def test_bad_beat_times_are_named(tmp_path):
    with pytest.raises(InvalidBeats, match="beat 3 is not later than the one before it"):
        detect([0.0, 1.0, 1.0, 2.0])
    with pytest.raises(InvalidBeats, match="fewer than two beat times"):
        detect([1.0])
    path = tmp_path / "beats.csv"
    path.write_text("time_s\n0.1\n0.9\nabc\n", encoding="utf-8")
    with pytest.raises(InvalidBeats, match=r"beats.csv: row 4: time_s 'abc' is not a number"):
        service.read_beat_times(path)
    path.write_text("beat\n0.1\n", encoding="utf-8")
    with pytest.raises(InvalidBeats, match="beats.csv: the first line must name the columns"):
        service.read_beat_times(path)
