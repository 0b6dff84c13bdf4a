"""The project's DRF plumbing, shared by every app's API (settings.REST_FRAMEWORK names it)."""
