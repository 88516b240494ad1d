"""Shared KPIs: metrics and targets, /kpi parsing, the weekly report."""
