"""Optional integrations, one module per extra; each imports its extra's packages only when used."""
