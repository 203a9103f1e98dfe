"""The regional request workflow (seed 003, §3–4): teachers' offers, the network timetable,
the schools' requests, the network's combined request, the RCC's approval, and the search
"from need" across networks. Pure Python: rules, ports and an in-memory store."""
