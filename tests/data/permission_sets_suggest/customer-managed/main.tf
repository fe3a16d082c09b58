resource "aws_ssoadmin_permission_set" "developer" {
  name         = "Developer"
  instance_arn = "arn:aws:sso:::instance/ssoins-1234567890abcdef"
}

resource "aws_ssoadmin_customer_managed_policy_attachment" "developer_extras" {
  instance_arn       = aws_ssoadmin_permission_set.developer.instance_arn
  permission_set_arn = aws_ssoadmin_permission_set.developer.arn
  customer_managed_policy_reference {
    name = "DeveloperExtras"
    path = "/team/"
  }
}
