"""The `maintenance` section: scheduled database and housekeeping jobs."""
