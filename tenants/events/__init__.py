"""Events of one tenant: online sessions with their schedule, capacity and join link.

Rules: times are stored in UTC with the event's IANA time zone for display; the join link is
never rendered on a page, it is only sent by e-mail to confirmed registrants; reminders go out
by the job queue (default 24 h and 1 h before the start). Seats are counted on the event row
(``seats_taken``) and taken with one conditional UPDATE, so concurrent registrations can never
overbook.
"""
