resource "aws_iam_role" "one" {
  name               = "inline-one"
  assume_role_policy = "{}"

  inline_policy {
    name = "queue"
    policy = jsonencode({
      Version   = "2012-10-17"
      Statement = [{ Effect = "Allow", Action = ["sqs:SendMessage"], Resource = "*" }]
    })
  }
}

resource "aws_iam_role" "two" {
  name               = "inline-two"
  assume_role_policy = "{}"

  inline_policy {
    name = "queue"
    policy = jsonencode({
      Version   = "2012-10-17"
      Statement = [{ Effect = "Allow", Action = ["sqs:SendMessage"], Resource = "*" }]
    })
  }

  inline_policy {
    name = "topic"
    policy = jsonencode({
      Version   = "2012-10-17"
      Statement = [{ Effect = "Allow", Action = ["sns:Publish"], Resource = "*" }]
    })
  }
}
