"""The statutory clock: Vietnamese working days, due dates that follow the case, scheduled rules.

- ``calendar``: working days (public holidays from `holidays`, moved days from config/calendar.toml)
- ``rules``: the numbers of config/deadlines.toml
- ``due``: start, pause, resume and restart a case's clock; a case's standing
- ``progress``: the agency's interim updates
- ``tick``: one tick of the scheduled rules (``run_tick``); ``jobs.tick``: the same as an RQ job
- ``cli``: ``flask --app wsgi clock tick [--at ISO-DATETIME]``, ``clock days YEAR``
"""
