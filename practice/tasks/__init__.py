"""The job functions: one module per area (`email.py`), each job registered by name with
`practice.jobs.job`.

Jobs are entry points, like views and CLI commands: they call services, and nothing below
them imports them. The queueing machinery they run on is `practice.jobs`; it finds these
modules by walking this package, so a new one needs no list.
"""
