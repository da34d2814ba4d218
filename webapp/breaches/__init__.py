"""Personal-data breaches (GDPR Art. 33 and 34): an operator records an incident, the affected
organisations are computed and notified, each gets a CNIL notification draft and a participant
notice it can send; every step lands in the breach register."""
