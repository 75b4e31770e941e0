"""Sống Khỏe: an open smart-health platform for Vietnam's grassroots health network."""

__version__ = "0.1.0"
