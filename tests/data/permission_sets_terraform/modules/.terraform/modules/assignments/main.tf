variable "assignments" {
  type = list(object({
    account            = string
    principal_type     = string
    principal          = string
    permission_set     = string
    permission_set_arn = string
  }))
}

locals {
  by_key = {
    for a in var.assignments :
    format("%v-%v-%v-%v", a.account, substr(a.principal_type, 0, 1), a.principal, a.permission_set) => a
  }
}

data "aws_ssoadmin_instances" "this" {}

resource "aws_ssoadmin_account_assignment" "this" {
  for_each           = local.by_key
  instance_arn       = tolist(data.aws_ssoadmin_instances.this.arns)[0]
  permission_set_arn = each.value.permission_set_arn
  principal_id       = each.value.principal
  principal_type     = each.value.principal_type
  target_id          = each.value.account
  target_type        = "AWS_ACCOUNT"
}
