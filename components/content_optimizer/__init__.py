"""The `optimizer` section: upload bucket, Lambda and video worker of the content optimizer."""
