"""The `budgets` section: monthly cost budgets on AWS, Azure and GCP."""
