# A service's runtime role: reads its queue, writes logs, and owns its data.
resource "aws_iam_role" "worker" {
  name = "${var.service_name}-worker"
  path = "/service/"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
    }]
  })
}

resource "aws_iam_role_policy" "queue" {
  name = "queue"
  role = aws_iam_role.worker.id

  policy = <<-EOT
    {
      "Version": "2012-10-17",
      "Statement": [
        {
          "Sid": "ConsumeOrders",
          "Effect": "Allow",
          "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
          "Resource": "${var.queue_arn}"
        },
        {
          "Sid": "NotifyShipping",
          "Effect": "Allow",
          "Action": "sns:Publish",
          "Resource": "*"
        }
      ]
    }
  EOT
}

resource "aws_iam_role_policy" "runtime" {
  name = "runtime"
  role = aws_iam_role.worker.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "*"
      },
      {
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = "*"
      },
      {
        Effect   = "Allow"
        Action   = "ses:SendEmail"
        Resource = "*"
      },
    ]
  })
}

resource "aws_iam_policy" "data_access" {
  name        = "${var.service_name}-data-access"
  description = "Read and write the ${var.service_name} bucket and table."
  policy      = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject"]
        Resource = "arn:aws:s3:::${var.service_name}-data/*"
      },
      {
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"]
        Resource = "*"
      },
    ]
  })
}

resource "aws_iam_role_policy_attachment" "data_access" {
  role       = aws_iam_role.worker.name
  policy_arn = aws_iam_policy.data_access.arn
}

# New in this change: the nightly report job's role.
resource "aws_iam_role" "reporter" {
  name = "${var.service_name}-reporter"
  path = "/service/"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
    }]
  })

  inline_policy {
    name = "reports"
    policy = jsonencode({
      Version = "2012-10-17"
      Statement = [
        {
          Effect   = "Allow"
          Action   = ["athena:GetQueryResults", "athena:StartQueryExecution"]
          Resource = "*"
        },
        {
          Effect   = "Allow"
          Action   = "s3:GetObject"
          Resource = "arn:aws:s3:::${var.service_name}-data/reports/*"
        },
      ]
    })
  }
}
