"""Where the tool meets other programs: the Terraform plan wrapper, the GitHub comment."""
