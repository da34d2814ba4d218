"""Registrations: a participant's seat at an event, from sign-up to cancellation.

Rules: a registration is pending until the participant's e-mail is confirmed (double opt-in),
then takes a seat (auto approval), waits for a manager (manual approval) or joins the waiting
list when the event is full. A freed seat goes to the oldest waiting registration in the same
transaction. Seats are taken with one conditional UPDATE on the event row, so twice the capacity in
concurrent registrations ends with exactly ``capacity`` confirmed, on SQLite and PostgreSQL.
"""
