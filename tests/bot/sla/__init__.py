"""Answer times: nudges, escalations and their figures, in a Berlin workspace."""
