variable "service_name" {
  type = string
}

variable "queue_arn" {
  type = string
}
