"""The service layer: one function per use case, each taking a unit of work, the caller
(`Principal`) where authorisation applies and `now` (no hidden clock), returning plain
domain objects. Entry points (`vks/api`, `vks/cli`, jobs) call these and nothing below."""
