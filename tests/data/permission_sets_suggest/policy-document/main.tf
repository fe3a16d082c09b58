resource "aws_ssoadmin_permission_set" "developer" {
  name         = "Developer"
  instance_arn = "arn:aws:sso:::instance/ssoins-1234567890abcdef"
}

data "aws_iam_policy_document" "developer" {
  statement {
    actions   = ["s3:GetObject", "sns:Publish"]
    resources = ["*"]
  }

  statement {
    actions   = ["dynamodb:GetItem"]
    resources = ["*"]
  }
}

resource "aws_ssoadmin_permission_set_inline_policy" "developer" {
  instance_arn       = aws_ssoadmin_permission_set.developer.instance_arn
  permission_set_arn = aws_ssoadmin_permission_set.developer.arn
  inline_policy      = data.aws_iam_policy_document.developer.json
}

resource "aws_ssoadmin_managed_policy_attachment" "developer_sqs" {
  instance_arn       = aws_ssoadmin_permission_set.developer.instance_arn
  permission_set_arn = aws_ssoadmin_permission_set.developer.arn
  managed_policy_arn = "arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess"
}

resource "aws_ssoadmin_managed_policy_attachment" "developer_logs" {
  instance_arn       = aws_ssoadmin_permission_set.developer.instance_arn
  permission_set_arn = aws_ssoadmin_permission_set.developer.arn
  managed_policy_arn = "arn:aws:iam::aws:policy/CloudWatchLogsReadOnlyAccess"
}
