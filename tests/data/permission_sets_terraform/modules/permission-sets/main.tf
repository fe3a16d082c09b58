variable "permission_sets" {
  type = list(object({
    name             = string
    managed_policies = list(string)
    customer_managed = list(object({ name = string, path = string }))
    inline_policy    = string
  }))
}

locals {
  by_name = { for set in var.permission_sets : set.name => set }
  managed = flatten([
    for set in var.permission_sets : [for arn in set.managed_policies : { set = set.name, arn = arn }]
  ])
  customer_managed = flatten([
    for set in var.permission_sets : [for policy in set.customer_managed : merge(policy, { set = set.name })]
  ])
}

data "aws_ssoadmin_instances" "this" {}

resource "aws_ssoadmin_permission_set" "this" {
  for_each     = local.by_name
  name         = each.key
  instance_arn = tolist(data.aws_ssoadmin_instances.this.arns)[0]
}

resource "aws_ssoadmin_permission_set_inline_policy" "this" {
  for_each           = { for name, set in local.by_name : name => set.inline_policy if set.inline_policy != "" }
  instance_arn       = tolist(data.aws_ssoadmin_instances.this.arns)[0]
  permission_set_arn = aws_ssoadmin_permission_set.this[each.key].arn
  inline_policy      = each.value
}

resource "aws_ssoadmin_managed_policy_attachment" "this" {
  for_each           = { for item in local.managed : "${item.set}.${item.arn}" => item }
  instance_arn       = tolist(data.aws_ssoadmin_instances.this.arns)[0]
  permission_set_arn = aws_ssoadmin_permission_set.this[each.value.set].arn
  managed_policy_arn = each.value.arn
}

resource "aws_ssoadmin_customer_managed_policy_attachment" "this" {
  for_each           = { for item in local.customer_managed : "${item.set}.${item.path}${item.name}" => item }
  instance_arn       = tolist(data.aws_ssoadmin_instances.this.arns)[0]
  permission_set_arn = aws_ssoadmin_permission_set.this[each.value.set].arn
  customer_managed_policy_reference {
    name = each.value.name
    path = each.value.path
  }
}

output "permission_sets" {
  value = aws_ssoadmin_permission_set.this
}
