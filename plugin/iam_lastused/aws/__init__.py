"""AWS I/O, and every use of boto3 and botocore (tests/test_layering.py keeps it so):
sessions and clients, the read-only allow-list, the caller's identity, what IAM says of
principals, stacks and change sets, the report engine, managed policies, Access Analyzer,
the store on S3, the sweep; botocore's bundled data (partitions, API models); botocore's
errors as the package's own (errors.py)."""
