"""Pure-numpy planning engine: fiscal calendars, exact integer allocation, raking and tree decomposition.

Kept free of Django so the maths can be tested, benchmarked and reused without a database.
"""
