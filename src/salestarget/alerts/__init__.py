"""Alert rules, channels and their deliveries, scheduled reports."""
