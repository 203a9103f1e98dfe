"""`vks check`: is the configuration fit to run a region? Every secret reference resolved,
every terminal, camera and server answering one harmless authenticated call, the database
schema current, Redis answering. `rules` says what is a problem and what to do about it
(pure), `probing` asks the devices (bounded and concurrent), `command` runs it all and
prints."""
