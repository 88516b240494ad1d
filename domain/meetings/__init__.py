"""Alignment meetings: parsing /meeting, schedules, reminders and agendas."""
