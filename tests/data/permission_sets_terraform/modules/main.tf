# A landing zone as public modules write one: the permission sets from a list given to
# a local module, assigned by a registry module (installed by terraform init) that
# takes their ARNs from the first module's output.

resource "aws_iam_policy" "billing" {
  name = "billing-read"
  path = "/finance/"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "ce:Get*", Resource = "*" }]
  })
}

module "permission_sets" {
  source = "./permission-sets"
  permission_sets = [
    {
      name             = "Platform"
      managed_policies = ["arn:aws:iam::aws:policy/PowerUserAccess", "arn:aws:iam::aws:policy/IAMReadOnlyAccess"]
      customer_managed = [{ name = aws_iam_policy.billing.name, path = aws_iam_policy.billing.path }]
      inline_policy    = ""
    },
    {
      name             = "Auditor"
      managed_policies = []
      customer_managed = []
      inline_policy = jsonencode({
        Version   = "2012-10-17"
        Statement = [{ Effect = "Allow", Action = ["cloudtrail:LookupEvents"], Resource = "*" }]
      })
    },
  ]
}

locals {
  platform_group = "90676f2e5a-11111111-1111-1111-1111-111111111111"
  auditor_user   = "90676f2e5a-22222222-2222-2222-2222-222222222222"
}

module "assignments" {
  source  = "example/sso-assignments/aws"
  version = "1.0.0"
  assignments = [
    { account = "111111111111", principal_type = "GROUP", principal = local.platform_group, permission_set = "Platform",
      permission_set_arn = module.permission_sets.permission_sets["Platform"].arn },
    { account = "222222222222", principal_type = "GROUP", principal = local.platform_group, permission_set = "Platform",
      permission_set_arn = module.permission_sets.permission_sets["Platform"].arn },
    { account = "111111111111", principal_type = "USER", principal = local.auditor_user, permission_set = "Auditor",
      permission_set_arn = module.permission_sets.permission_sets["Auditor"].arn },
  ]
}
