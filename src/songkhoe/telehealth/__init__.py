"""Telehealth: consultations with specialists (store-and-forward and live chat), escalation,
referrals between facilities (chuyển tuyến)."""
