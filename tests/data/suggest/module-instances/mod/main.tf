variable "name" {}
variable "policy_arn" {}

resource "aws_iam_role" "r" {
  name               = var.name
  assume_role_policy = "{}"
}

resource "aws_iam_role_policy_attachment" "a" {
  role       = aws_iam_role.r.name
  policy_arn = var.policy_arn
}
