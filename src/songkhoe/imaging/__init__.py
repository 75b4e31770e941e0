"""AI chest X-ray screening: DICOM/PNG ingest, model registry, ONNX inference in a background
worker, class activation heatmaps, a reading worklist ordered by suspicion, and the doctor's
review as a DiagnosticReport. AI supports; the doctor decides."""
