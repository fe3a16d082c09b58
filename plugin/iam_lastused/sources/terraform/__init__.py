"""Terraform HCL: files and modules, expressions, and the principals they define."""
