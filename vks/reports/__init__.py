"""The reports' jobs: the scheduled delivery of the monthly reports by e-mail."""
