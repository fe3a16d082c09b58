"""CloudFormation and SAM templates, stacks and change sets."""
