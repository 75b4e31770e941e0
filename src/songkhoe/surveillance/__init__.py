"""Notifiable-disease surveillance: weekly series, aberration detectors ported from R
`surveillance`, alerts and forecasts."""
