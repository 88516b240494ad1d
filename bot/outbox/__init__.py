"""The outbox delivery: the engine that claims, sends, records and retries each owed post
(``engine``), one sender per kind of message, and the table that maps each kind to its
sender (``kinds``)."""
