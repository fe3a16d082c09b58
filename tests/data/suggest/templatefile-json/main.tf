resource "aws_iam_role" "app" {
  name               = "template-app"
  assume_role_policy = "{}"
}

resource "aws_iam_role_policy" "app" {
  name   = "app"
  role   = aws_iam_role.app.id
  policy = templatefile("${path.module}/policy.json.tpl", { bucket = "app-data" })
}
