"""iam-lastused: which AWS services each IAM principal in your code is granted but never uses."""

__version__ = "0.1.0"
