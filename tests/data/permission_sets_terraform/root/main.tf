data "aws_ssoadmin_instances" "this" {}

locals {
  instance_arn = tolist(data.aws_ssoadmin_instances.this.arns)[0]
  teams = {
    admin    = "AdministratorAccess"
    readonly = "ReadOnlyAccess"
  }
  assignments = {
    "admin-prod"    = { permission_set = "admin", account = "111111111111" }
    "admin-dev"     = { permission_set = "admin", account = "222222222222" }
    "readonly-prod" = { permission_set = "readonly", account = "111111111111" }
  }
}

variable "group_id" {
  type    = string
  default = "90676f2e5a-1234abcd-0000-0000-0000-000000000000"
}

variable "audit_account" {
  type = string
}

resource "aws_ssoadmin_permission_set" "team" {
  for_each         = local.teams
  name             = each.value
  instance_arn     = local.instance_arn
  session_duration = "PT4H"
}

resource "aws_ssoadmin_managed_policy_attachment" "team" {
  for_each           = local.teams
  instance_arn       = local.instance_arn
  permission_set_arn = aws_ssoadmin_permission_set.team[each.key].arn
  managed_policy_arn = "arn:aws:iam::aws:policy/${each.value}"
}

resource "aws_ssoadmin_permission_set" "deploy" {
  name         = "Deploy"
  instance_arn = local.instance_arn
}

resource "aws_ssoadmin_permission_set_inline_policy" "deploy" {
  instance_arn       = local.instance_arn
  permission_set_arn = aws_ssoadmin_permission_set.deploy.arn
  inline_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject"]
        Resource = "*"
      },
      {
        Effect   = "Allow"
        Action   = "lambda:UpdateFunctionCode"
        Resource = "*"
      },
    ]
  })
}

resource "aws_ssoadmin_customer_managed_policy_attachment" "deploy" {
  instance_arn       = local.instance_arn
  permission_set_arn = aws_ssoadmin_permission_set.deploy.arn
  customer_managed_policy_reference {
    name = "deploy-extra"
    path = "/teams/"
  }
}

resource "aws_ssoadmin_permissions_boundary_attachment" "deploy" {
  instance_arn       = local.instance_arn
  permission_set_arn = aws_ssoadmin_permission_set.deploy.arn
  permissions_boundary {
    managed_policy_arn = "arn:aws:iam::aws:policy/PowerUserAccess"
  }
}

resource "aws_ssoadmin_account_assignment" "team" {
  for_each           = local.assignments
  instance_arn       = local.instance_arn
  permission_set_arn = aws_ssoadmin_permission_set.team[each.value.permission_set].arn
  principal_id       = var.group_id
  principal_type     = "GROUP"
  target_id          = each.value.account
  target_type        = "AWS_ACCOUNT"
}

resource "aws_ssoadmin_account_assignment" "deploy" {
  for_each           = toset(["333333333333", "444444444444"])
  instance_arn       = local.instance_arn
  permission_set_arn = aws_ssoadmin_permission_set.deploy.arn
  principal_id       = var.group_id
  principal_type     = "GROUP"
  target_id          = each.value
  target_type        = "AWS_ACCOUNT"
}

resource "aws_ssoadmin_account_assignment" "deploy_audit" {
  instance_arn       = local.instance_arn
  permission_set_arn = aws_ssoadmin_permission_set.deploy.arn
  principal_id       = var.group_id
  principal_type     = "GROUP"
  target_id          = var.audit_account
  target_type        = "AWS_ACCOUNT"
}

resource "aws_ssoadmin_account_assignment" "elsewhere" {
  instance_arn       = local.instance_arn
  permission_set_arn = "arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-2222222222222222"
  principal_id       = var.group_id
  principal_type     = "GROUP"
  target_id          = "555555555555"
  target_type        = "AWS_ACCOUNT"
}
