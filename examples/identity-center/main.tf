terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

# IAM Identity Center: the permission set the orders team signs in with, in each of
# its accounts. Identity Center provisions a role for it in every account it is
# assigned to (AWSReservedSSO_OrdersDeveloper_<16 hex>), whose use iam-lastused reads.

locals {
  instance_arn = "arn:aws:sso:::instance/ssoins-7223b0f5e9a1c2d4"
  group_id     = "9067a0b1c2-1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d"
  accounts     = toset(["111122223333", "444455556666", "777788889999"])
}

resource "aws_ssoadmin_permission_set" "orders_developer" {
  name             = "OrdersDeveloper"
  description      = "Day-to-day access for the orders team"
  instance_arn     = local.instance_arn
  session_duration = "PT8H"
}

data "aws_iam_policy_document" "orders_developer" {
  statement {
    sid       = "ReadOrders"
    actions   = ["s3:GetObject", "s3:ListBucket", "dynamodb:GetItem", "dynamodb:Query"]
    resources = ["*"]
  }

  statement {
    sid       = "Queues"
    actions   = ["sqs:ReceiveMessage", "sqs:SendMessage", "sns:Publish"]
    resources = ["*"]
  }

  statement {
    sid       = "Functions"
    actions   = ["lambda:GetFunction", "lambda:InvokeFunction"]
    resources = ["*"]
  }
}

resource "aws_ssoadmin_permission_set_inline_policy" "orders_developer" {
  instance_arn       = local.instance_arn
  permission_set_arn = aws_ssoadmin_permission_set.orders_developer.arn
  inline_policy      = data.aws_iam_policy_document.orders_developer.json
}

resource "aws_ssoadmin_managed_policy_attachment" "orders_developer_cloudshell" {
  instance_arn       = local.instance_arn
  permission_set_arn = aws_ssoadmin_permission_set.orders_developer.arn
  managed_policy_arn = "arn:aws:iam::aws:policy/AWSCloudShellFullAccess"
}

resource "aws_ssoadmin_account_assignment" "orders_developer" {
  for_each = local.accounts

  instance_arn       = local.instance_arn
  permission_set_arn = aws_ssoadmin_permission_set.orders_developer.arn
  principal_id       = local.group_id
  principal_type     = "GROUP"
  target_id          = each.value
  target_type        = "AWS_ACCOUNT"
}
