"""Non-communicable diseases: risk scores, registries, follow-up worklists, control indicators."""
