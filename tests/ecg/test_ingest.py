"""Reading recordings: WFDB, CSV and DICOM; resampling; and the refusals, each naming the file
and the problem."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import wfdb
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

from songkhoe.ecg.ingest import ANALYSIS_HZ, InvalidRecording, read_recording, resample

TWELVE_LEAD_ECG = UID("1.2.840.10008.5.1.4.1.1.9.1.1")


def _sine(fs: float, seconds: float, hz: float = 1.0) -> np.ndarray:
    return np.sin(2 * np.pi * hz * np.arange(int(fs * seconds)) / fs)


def write_dicom(path: Path, signal_uv: np.ndarray, fs: float, leads: list[str]) -> None:
    """A 12-lead ECG IOD's waveform: int16 samples in µV (sensitivity 1 µV per unit)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = TWELVE_LEAD_ECG
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = TWELVE_LEAD_ECG, meta.MediaStorageSOPInstanceUID
    ds.Modality = "ECG"
    group = Dataset()
    group.SamplingFrequency = fs
    group.NumberOfWaveformChannels = len(leads)
    group.NumberOfWaveformSamples = signal_uv.shape[0]
    group.WaveformBitsAllocated = 16
    group.WaveformSampleInterpretation = "SS"
    channels = []
    for name in leads:
        channel = Dataset()
        source = Dataset()
        source.CodeMeaning = name
        channel.ChannelSourceSequence = Sequence([source])
        units = Dataset()
        units.CodeValue = "uV"
        channel.ChannelSensitivityUnitsSequence = Sequence([units])
        channel.ChannelSensitivity = 1.0
        channel.ChannelSensitivityCorrectionFactor = 1.0
        channel.ChannelBaseline = 0.0
        channels.append(channel)
    group.ChannelDefinitionSequence = Sequence(channels)
    group.WaveformData = np.round(signal_uv).astype("<i2").tobytes()
    ds.WaveformSequence = Sequence([group])
    ds.save_as(path, enforce_file_format=True)


def test_wfdb_record_by_header_or_base_name(cinc):
    by_header = read_recording(cinc / "records" / "A00001.hea")
    by_base = read_recording(cinc / "records" / "A00001")
    assert by_header.fs == 300 and by_header.signal.shape == (9000, 1)
    assert np.array_equal(by_header.signal, by_base.signal)
    assert by_header.seconds == 30.0


def test_csv_two_leads_at_500_hz(tmp_path):
    # 500 Hz: the time column steps by 0.002 s; 4 s of two leads (mV).
    path = tmp_path / "ecg.csv"
    t = np.arange(2000) / 500
    rows = [f"{x:.3f},{np.sin(x):.4f},{np.cos(x):.4f}" for x in t]
    path.write_text("time,I,II\n" + "\n".join(rows) + "\n", encoding="utf-8")
    recording = read_recording(path)
    assert recording.fs == pytest.approx(500.0)
    assert recording.leads == ("I", "II")
    assert recording.signal.shape == (2000, 2)
    # Lead I is analysed; resampled to 300 Hz, 4 s hold 1,200 samples.
    assert recording.analysis_lead().size == 1200


def test_dicom_twelve_leads_in_microvolts(tmp_path):
    leads = ["Lead I", "Lead II", "Lead III", "Lead aVR", "Lead aVL", "Lead aVF",
             "Lead V1", "Lead V2", "Lead V3", "Lead V4", "Lead V5", "Lead V6"]  # fmt: skip
    signal = np.stack([1000 * _sine(500, 10) * (k + 1) / 12 for k in range(12)], axis=1)
    write_dicom(tmp_path / "ecg.dcm", signal, 500.0, leads)
    recording = read_recording(tmp_path / "ecg.dcm")
    assert recording.leads == tuple(leads)
    assert recording.fs == 500.0
    # 1000 µV × 12/12 is 1 mV at the peak of lead V6.
    assert recording.signal[:, 11].max() == pytest.approx(1.0, abs=1e-3)
    assert recording.lead_index() == 0


@pytest.mark.parametrize("fs", [128.0, 250.0, 360.0, 1000.0, 10_000.0])
def test_any_rate_is_resampled_keeping_the_waveform(fs):
    # A 5-Hz sine for 4 s at fs becomes 1,200 samples at 300 Hz; away from the edges it is
    # the same sine sampled at 300 Hz within 1 %.
    out = resample(_sine(fs, 4, 5.0), fs, ANALYSIS_HZ)
    assert out.size == 1200
    expected = _sine(ANALYSIS_HZ, 4, 5.0)
    assert np.abs(out[100:-100] - expected[100:-100]).max() < 0.01


def _copy_record(cinc: Path, folder: Path, name: str) -> Path:
    for suffix in (".hea", ".mat"):
        target = folder / f"{name}{suffix}"
        shutil.copyfile(cinc / "records" / f"A00001{suffix}", target)
        target.chmod(0o644)
    header = folder / f"{name}.hea"
    header.write_text(header.read_text().replace("A00001", name))
    return header


def test_truncated_mat_is_refused(cinc, tmp_path):
    header = _copy_record(cinc, tmp_path, "T1")
    mat = tmp_path / "T1.mat"
    mat.write_bytes(mat.read_bytes()[:9000])
    # 9,000 samples of 2 bytes after a 24-byte MATLAB header: 18,024 bytes promised.
    with pytest.raises(InvalidRecording, match=r"T1\.mat: holds 9000 bytes .*\(18024 bytes\)"):
        read_recording(header)


def test_header_lying_about_length_is_refused(cinc, tmp_path):
    header = _copy_record(cinc, tmp_path, "L1")
    header.write_text(header.read_text().replace(" 9000 ", " 90000 ", 1))
    with pytest.raises(InvalidRecording, match=r"L1\.mat: .*90000 samples.*header's length"):
        read_recording(header)


def test_sampling_rate_zero_is_refused(tmp_path):
    path = tmp_path / "zero.csv"
    path.write_text("time,I\n0,0.1\n0,0.2\n0,0.3\n", encoding="utf-8")
    with pytest.raises(InvalidRecording, match="zero.csv: the time column must rise"):
        read_recording(path)
    wfdb.wrsamp("z", fs=1, units=["mV"], sig_name=["I"], p_signal=_sine(1, 5)[:, None],
                fmt=["16"], write_dir=str(tmp_path))  # fmt: skip
    header = tmp_path / "z.hea"
    header.write_text(header.read_text().replace("z 1 1 5", "z 1 0 5", 1))
    with pytest.raises(InvalidRecording, match=r"z\.hea: the sampling rate is 0 Hz"):
        read_recording(header)


def test_csv_with_text_is_refused(tmp_path):
    path = tmp_path / "text.csv"
    path.write_text("time,I\n0.000,0.1\n0.004,nhiễu\n", encoding="utf-8")
    with pytest.raises(InvalidRecording, match=r"text.csv: row 3, column I: 'nhiễu' is not a"):
        read_recording(path)


def test_longer_than_24_hours_is_refused(tmp_path):
    # 1 Hz for 86,401 s is one second over 24 h; the header alone says so.
    (tmp_path / "day.hea").write_text("day 1 1 86401\nday.dat 16 200 16 0 0 0 0 I\n")
    (tmp_path / "day.dat").write_bytes(b"\0" * 2 * 86401)
    with pytest.raises(InvalidRecording, match=r"day\.hea: the recording lasts 24\.0 h"):
        read_recording(tmp_path / "day.hea")


def test_rate_above_10_khz_and_not_a_recording_are_refused(tmp_path):
    path = tmp_path / "fast.csv"
    t = np.arange(200) / 20_000
    path.write_text("time,I\n" + "\n".join(f"{x:.6f},0" for x in t), encoding="utf-8")
    with pytest.raises(InvalidRecording, match="fast.csv: the sampling rate 20000 Hz is above"):
        read_recording(path)
    junk = tmp_path / "photo.jpg"
    junk.write_bytes(b"\xff\xd8\xff not an ecg")
    with pytest.raises(InvalidRecording, match="photo.jpg: neither WFDB"):
        read_recording(junk)
    with pytest.raises(InvalidRecording, match="missing: no such file"):
        read_recording(tmp_path / "missing")
