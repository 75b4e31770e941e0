"""Accounts, roles and place scopes, tokens with SMART-on-FHIR scopes, access policy, audit."""
