variable "queue" {
  default = "arn:aws:sqs:eu-west-1:111122223333:orders"
}

resource "aws_iam_role" "app" {
  name               = "heredoc-app"
  assume_role_policy = "{}"
}

resource "aws_iam_role_policy" "app" {
  name   = "app"
  role   = aws_iam_role.app.id
  policy = <<-EOT
    {
      "Version": "2012-10-17",
      "Statement": [
        {
          "Effect": "Allow",
          "Action": "sqs:SendMessage",
          "Resource": "${var.queue}"
        },
        {
          "Effect": "Allow",
          "Action": [
            "cloudwatch:PutMetricData",
            "sqs:ReceiveMessage"
          ],
          "Resource": "*"
        },
        {
          "Effect": "Allow",
          "Action": "athena:*",
          "Resource": "*"
        }
      ]
    }
  EOT
}
