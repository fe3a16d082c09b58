"""What is kept on disk: the report and parse cache, the access-data file, one atomic writer."""
