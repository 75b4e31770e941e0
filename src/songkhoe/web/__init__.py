"""The web kit: the page frame, sessions and CSRF, forms, interface text, charts and maps that the
domains build their pages with (ARCHITECTURE.md); it imports no domain."""
