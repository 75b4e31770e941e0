"""Health-insurance (BHYT) claims under QĐ 130/QĐ-BYT as amended by QĐ 4750/QĐ-BYT."""
