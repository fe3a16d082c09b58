module "one" {
  source     = "./mod"
  name       = "one"
  policy_arn = "arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess"
}

module "two" {
  source     = "./mod"
  name       = "two"
  policy_arn = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
}
