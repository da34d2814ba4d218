"""The ground floor under both planes: database primitives, the clock, the job queue, mail and
the web helpers (rendering, errors, security, languages, admission, spreadsheets).

Rule: nothing here imports ``tenants`` or ``webapp``. Where the queue or the mailer must enter
a tenant or read the tenant registry, the application factory hands them functions
(``core.jobs.Planes``).
"""
