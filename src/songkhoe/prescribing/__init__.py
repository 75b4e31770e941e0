"""E-prescriptions: drug catalogue, safety checks, signed MedicationRequests, national export."""
