resource "aws_iam_role" "reader" {
  name               = "shared-reader"
  assume_role_policy = "{}"
}

resource "aws_iam_role" "auditor" {
  name               = "shared-auditor"
  assume_role_policy = "{}"
}

resource "aws_iam_policy" "shared" {
  name = "shared"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["s3:GetObject", "sns:Publish"]
        Resource = "*"
      },
      {
        Effect    = "Allow"
        NotAction = ["iam:*"]
        Resource  = "*"
      },
    ]
  })
}

resource "aws_iam_role_policy_attachment" "reader" {
  role       = aws_iam_role.reader.name
  policy_arn = aws_iam_policy.shared.arn
}

resource "aws_iam_role_policy_attachment" "auditor" {
  role       = aws_iam_role.auditor.name
  policy_arn = aws_iam_policy.shared.arn
}
