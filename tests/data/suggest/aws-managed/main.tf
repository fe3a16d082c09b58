resource "aws_iam_role" "app" {
  name               = "managed-app"
  assume_role_policy = "{}"
}

resource "aws_iam_role_policy_attachment" "queues" {
  role       = aws_iam_role.app.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess"
}

resource "aws_iam_role_policy_attachment" "logs" {
  role       = aws_iam_role.app.name
  policy_arn = "arn:aws:iam::aws:policy/CloudWatchLogsReadOnlyAccess"
}
