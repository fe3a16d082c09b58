{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "Data",
      "Effect": "Allow",
      "Action": ["s3:GetObject", "sns:Publish"],
      "Resource": "arn:aws:s3:::${bucket}/*"
    },
    {
      "Sid": "Table",
      "Effect": "Allow",
      "Action": "dynamodb:Query",
      "Resource": "*"
    }
  ]
}
