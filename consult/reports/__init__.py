"""Report analysis: pure functions over data, and the job that feeds them."""
