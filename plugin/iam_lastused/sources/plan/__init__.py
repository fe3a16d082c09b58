"""Terraform plans: `terraform show -json` loaded and read into principals."""
