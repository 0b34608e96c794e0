"""Job functions of the moderation package (screening arrives with the moderation issue)."""

FUNCTIONS: list = []
CRON_JOBS: list = []
