"""Use cases: pay, issue a pass, check in at a gate, revoke, read the audit log.

Each takes its collaborators (session, key set, clock, provider) as arguments and speaks
domain errors; none knows about HTTP.
"""
