"""ECG rhythm screening: reading recordings, signal quality, R-peaks, the rhythm classifier
(N / A / O / ~) and RR-only atrial-fibrillation windows. Other rooms call `ecg.service`."""
