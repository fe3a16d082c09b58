resource "aws_iam_role" "app" {
  name               = "jsonencode-app"
  assume_role_policy = "{}"
}

resource "aws_iam_role_policy" "app" {
  name = "app"
  role = aws_iam_role.app.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "Logs"
        Effect   = "Allow"
        Action   = ["logs:PutLogEvents", "dynamodb:GetItem", "logs:CreateLogStream"]
        Resource = "*"
      },
      {
        Effect   = "Allow"
        Action   = "kms:Decrypt"
        Resource = "*"
        Condition = {
          StringEquals = { "kms:ViaService" = "s3.eu-west-1.amazonaws.com" }
        }
      },
      { Effect = "Allow", Action = "sqs:SendMessage", Resource = "*" },
    ]
  })
}
