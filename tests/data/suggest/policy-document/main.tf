resource "aws_iam_role" "app" {
  name               = "document-app"
  assume_role_policy = "{}"
}

data "aws_iam_policy_document" "app" {
  statement {
    sid       = "Mixed"
    actions   = ["s3:GetObject", "sns:Publish"]
    resources = ["*"]
  }

  statement {
    sid       = "Gone"
    actions   = ["lambda:InvokeFunction"]
    resources = ["*"]
  }

  # Never a candidate: a Deny grants nothing.
  statement {
    sid       = "RegionFence"
    effect    = "Deny"
    actions   = ["ec2:*"]
    resources = ["*"]

    condition {
      test     = "StringNotEquals"
      variable = "aws:RequestedRegion"
      values   = ["eu-west-1"]
    }
  }
}

resource "aws_iam_role_policy" "app" {
  name   = "app"
  role   = aws_iam_role.app.id
  policy = data.aws_iam_policy_document.app.json
}
