"""Ratings: reading what a rep typed, storing a rating and the answers to it."""
