"""Harassment scoring: scorers (Detoxify, lite), normalisation, rules, levels and masking."""
