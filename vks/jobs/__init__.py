"""The job runners of the automation: RQ (Redis) when `VKS_REDIS_URL` is set, an embedded
in-process runner otherwise — one set of job code, two runners."""
