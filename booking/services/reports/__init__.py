"""The reports: lesson outcomes, attendance, the monthly, quarterly, half-year and region
reports, and the closing of a month — one module per use case."""
