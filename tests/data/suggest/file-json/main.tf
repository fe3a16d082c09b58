resource "aws_iam_role" "app" {
  name               = "file-app"
  assume_role_policy = "{}"
}

resource "aws_iam_role_policy" "app" {
  name   = "app"
  role   = aws_iam_role.app.id
  policy = file("${path.module}/policy.json")
}
