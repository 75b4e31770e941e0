"""Health chatbot in Vietnamese: a cited knowledge base, retrieval with and without diacritics,
and danger-sign triage that runs before any answer (issue #9)."""
