"""Where recordings meet solutions: configurations, the sign convention, the corrected recording."""
