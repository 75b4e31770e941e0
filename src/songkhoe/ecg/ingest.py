"""Reading an ECG recording: WFDB records (wfdb; a header path, or the record's base name),
DICOM waveforms (pydicom; 12-lead, general or ambulatory ECG) and CSV files (a time column in
seconds, then one column per lead in mV). One to twelve leads, any sampling rate above 0 and up to
10 kHz, at most 24 hours. What cannot be read is refused with `InvalidRecording`, whose message
names the file and the problem.

A recording is resampled to the analysis rate (300 Hz, the rate of the PhysioNet/CinC Challenge
2017 recordings the classifier was trained on) with a polyphase filter (`scipy.signal.
resample_poly`, its Kaiser-windowed anti-aliasing FIR), so the rate ratio is exact for integer
rates and within 0.1 % for others.
"""

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pydicom
import wfdb
from pydicom.errors import InvalidDicomError
from scipy.signal import resample_poly

from songkhoe.csv_input import CsvInputError, read_csv

ANALYSIS_HZ = 300.0
MAX_HZ = 10_000.0
MAX_SECONDS = 24 * 3600.0
MAX_LEADS = 12
MIN_SECONDS = 2.0  # two or three beats: less holds no rhythm
# Bytes per sample of the WFDB signal formats (PhysioNet, "signal(5)": formats 8 to 311).
WFDB_BYTES = {
    "8": 1.0, "16": 2.0, "24": 3.0, "32": 4.0, "61": 2.0, "80": 1.0, "160": 2.0,
    "212": 1.5, "310": 4 / 3, "311": 4 / 3,
}  # fmt: skip
LEAD_PREFERENCE = ("I", "II")  # the Challenge's handheld recorded lead I; then lead II
MICROVOLT_UNITS = frozenset({"uv", "µv", "microvolt"})


class InvalidRecording(ValueError):
    """A recording that cannot be read; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class Recording:
    """Signals in mV, one column per lead, at `fs` Hz."""

    name: str
    signal: np.ndarray  # (samples, leads), float64 mV
    fs: float
    leads: tuple[str, ...]

    @property
    def seconds(self) -> float:
        return self.signal.shape[0] / self.fs

    def lead_index(self) -> int:
        """The lead to analyse: lead I when named, else lead II, else the first."""
        names = [_lead_name(x) for x in self.leads]
        for wanted in LEAD_PREFERENCE:
            if wanted in names:
                return names.index(wanted)
        return 0

    def analysis_lead(self, seconds: float | None = None) -> np.ndarray:
        """The chosen lead at the analysis rate (300 Hz); with `seconds`, its beginning only."""
        lead = self.signal[:, self.lead_index()]
        if seconds is not None:
            lead = lead[: int(round(seconds * self.fs))]
        return resample(lead, self.fs, ANALYSIS_HZ)


def _lead_name(label: str) -> str:
    text = label.strip().upper()
    return text[5:].strip() if text.startswith("LEAD ") else text


def resample(signal: np.ndarray, fs: float, target: float) -> np.ndarray:
    """The signal at `target` Hz (polyphase, see the module doc)."""
    if fs == target:
        return signal.astype(np.float64, copy=False)
    ratio = Fraction(target / fs).limit_denominator(1000)
    return resample_poly(signal.astype(np.float64), ratio.numerator, ratio.denominator)


def checked(name: str, signal: np.ndarray, fs: float, leads: tuple[str, ...]) -> Recording:
    """A recording whose rate, length, leads and values are within the limits, or
    InvalidRecording naming `name`."""
    if not math.isfinite(fs) or fs <= 0:
        raise InvalidRecording(f"{name}: the sampling rate is {fs:g} Hz; it must be above 0")
    if fs > MAX_HZ:
        raise InvalidRecording(f"{name}: the sampling rate {fs:g} Hz is above {MAX_HZ:g} Hz")
    if signal.ndim != 2 or not 1 <= signal.shape[1] <= MAX_LEADS:
        count = signal.shape[1] if signal.ndim == 2 else 0
        raise InvalidRecording(f"{name}: {count} leads; a recording has 1 to {MAX_LEADS}")
    seconds = signal.shape[0] / fs
    if seconds > MAX_SECONDS:
        raise InvalidRecording(
            f"{name}: the recording lasts {seconds / 3600:.1f} h, longer than 24 h; split it"
        )
    if seconds < MIN_SECONDS:
        raise InvalidRecording(
            f"{name}: the recording lasts {seconds:.2f} s, shorter than {MIN_SECONDS:g} s"
        )
    bad = ~np.isfinite(signal)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise InvalidRecording(f"{name}: sample {row + 1} is not a number (NaN or infinite)")
    return Recording(name, signal.astype(np.float64, copy=False), float(fs), leads)


def read_recording(path: Path) -> Recording:
    """The recording at PATH: `.hea` (or a base name with a `.hea` beside it) is WFDB, `.csv`
    CSV, `.dcm` or anything else with the DICOM preamble DICOM."""
    suffix = path.suffix.lower()
    if suffix == ".hea" or (not path.exists() and path.with_name(path.name + ".hea").exists()):
        return read_wfdb(path.with_suffix("") if suffix == ".hea" else path)
    if not path.is_file():
        raise InvalidRecording(f"{path}: no such file (nor {path.name}.hea beside it)")
    if suffix == ".csv":
        return read_csv_recording(path)
    if suffix in (".dat", ".mat") and path.with_suffix(".hea").is_file():
        return read_wfdb(path.with_suffix(""))
    return read_dicom(path)


def _wfdb_expected_bytes(header: wfdb.Record, data_file: str) -> int:
    """The bytes the header promises in `data_file` (its byte offset included)."""
    assert header.file_name is not None and header.fmt is not None
    columns = [i for i, f in enumerate(header.file_name) if f == data_file]
    fmt = str(header.fmt[columns[0]])
    offset = int((header.byte_offset or [0] * len(header.file_name))[columns[0]] or 0)
    per_frame = WFDB_BYTES[fmt] * len(columns)
    return offset + math.ceil(int(header.sig_len or 0) * per_frame)


def read_wfdb(base: Path) -> Recording:
    """A WFDB record by its base name (`records/A00001` for A00001.hea and its signal file)."""
    name = f"{base}.hea"
    try:
        header = wfdb.rdheader(str(base))
    except FileNotFoundError:
        raise InvalidRecording(f"{name}: no such file") from None
    except Exception as exc:  # wfdb raises ValueError and others for a malformed header
        raise InvalidRecording(f"{name}: not a readable WFDB header ({exc})") from None
    fs = float(header.fs or 0)
    if not math.isfinite(fs) or fs <= 0 or fs > MAX_HZ:
        checked(name, np.zeros((0, 1)), fs, ("ECG",))  # raises, naming the rate
    if not header.file_name or not header.sig_len:
        raise InvalidRecording(f"{name}: the header names no signal or gives no length")
    if int(header.sig_len) / fs > MAX_SECONDS:
        checked(name, np.zeros((int(header.sig_len), 1)), fs, ("ECG",))
    for data_file in dict.fromkeys(header.file_name):
        fmt = str(header.fmt[header.file_name.index(data_file)]) if header.fmt else "?"
        if fmt not in WFDB_BYTES:
            raise InvalidRecording(f"{name}: signal format {fmt} is not one WFDB defines")
        path = base.parent / data_file
        if not path.is_file():
            raise InvalidRecording(f"{path}: no such file (named by {name})")
        expected, actual = _wfdb_expected_bytes(header, data_file), path.stat().st_size
        if actual < expected or actual > expected + 8:  # a MATLAB file may pad to 8 bytes
            raise InvalidRecording(
                f"{path}: holds {actual} bytes but {name} promises {header.sig_len} samples "
                f"per lead ({expected} bytes): the file is truncated or the header's length "
                "is wrong"
            )
    try:
        record = wfdb.rdrecord(str(base), physical=True)
    except Exception as exc:  # the signal file disagrees with its header
        raise InvalidRecording(f"{name}: the signal cannot be read ({exc})") from None
    assert record.p_signal is not None
    units = [str(u).strip().lower() for u in (record.units or [])]
    signal = np.asarray(record.p_signal, dtype=np.float64)
    scale = np.array([1e-3 if u in MICROVOLT_UNITS else 1.0 for u in units] or [1.0])
    leads = tuple(str(x) for x in (record.sig_name or ["ECG"] * signal.shape[1]))
    return checked(name, signal * scale, fs, leads)


def read_csv_recording(path: Path) -> Recording:
    """A CSV file: the header names `time` (seconds) first, then the leads (mV); the rate is
    taken from the time column, whose steps must be even to within 1 %."""
    try:
        csv_file = read_csv(path, ("time", "time_s", "I", "II", "V1"))
        rows = csv_file.rows(numbers=csv_file.header)
    except CsvInputError as exc:
        raise InvalidRecording(str(exc)) from None
    header = csv_file.header
    if len(header) < 2 or header[0].lower() not in ("time", "time_s", "t"):
        raise InvalidRecording(f"{path}: the first column must be `time` (s), then the leads")
    values = np.empty((len(rows), len(header)), dtype=np.float64)
    for number, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise InvalidRecording(
                f"{path}: row {number} has {len(row)} values, the header {len(header)}"
            )
        for column, cell in enumerate(row):
            try:
                values[number - 2, column] = float(cell)
            except ValueError:
                raise InvalidRecording(
                    f"{path}: row {number}, column {header[column]}: {cell!r} is not a number"
                ) from None
    if len(rows) < 2:
        raise InvalidRecording(f"{path}: fewer than two samples")
    steps = np.diff(values[:, 0])
    step = float(np.median(steps))
    if not step > 0 or np.abs(steps - step).max() > 0.01 * step:
        raise InvalidRecording(f"{path}: the time column must rise in even steps")
    return checked(str(path), values[:, 1:], 1.0 / step, tuple(header[1:]))


def read_dicom(path: Path) -> Recording:
    """The first multiplex group of a DICOM waveform (PS3.3 C.10.9), in mV."""
    try:
        ds = pydicom.dcmread(path)
    except (InvalidDicomError, OSError, EOFError) as exc:
        raise InvalidRecording(
            f"{path}: neither WFDB (.hea), CSV nor a readable DICOM file ({exc})"
        ) from None
    if "WaveformSequence" not in ds or not len(ds.WaveformSequence):
        raise InvalidRecording(f"{path}: the DICOM file holds no waveform")
    group = ds.WaveformSequence[0]
    try:
        signal = np.asarray(ds.waveform_array(0), dtype=np.float64)
        fs = float(group.SamplingFrequency)
        channels = list(group.ChannelDefinitionSequence)
    except (AttributeError, ValueError, KeyError, TypeError) as exc:
        raise InvalidRecording(f"{path}: the waveform cannot be read ({exc})") from None
    scale: list[float] = []
    leads: list[str] = []
    for channel in channels:
        units_seq = channel.get("ChannelSensitivityUnitsSequence")
        unit = str(units_seq[0].CodeValue).lower() if units_seq else "uv"
        scale.append(1e-3 if unit in MICROVOLT_UNITS else 1.0)
        source = channel.get("ChannelSourceSequence")
        leads.append(str(source[0].CodeMeaning) if source else f"lead {len(leads) + 1}")
    return checked(str(path), signal * np.asarray(scale), fs, tuple(leads))
