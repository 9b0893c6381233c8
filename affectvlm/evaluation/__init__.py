"""Evaluation: metrics over predictions, fold aggregation, results JSON and plots."""
