"""Chart rendering with matplotlib: pure functions, data in and PNG bytes out.

Nothing in this package imports Slack or the database, and it never uses pyplot (a
long-running server would keep every figure alive); figures are built with ``Figure()``.
"""
