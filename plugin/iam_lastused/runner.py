"""One run of the pipeline after the sources: resolve -> reports -> analysis.

A `Run` holds what the stages of one invocation share: its options, the access data
and one AWS session (made only when something needs AWS). The library API and so the
command line drive it; nothing here knows of argparse or prints.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from iam_lastused.analysis.analyze import analyze, granularity_notes
from iam_lastused.analysis.suppressions import with_suppressions
from iam_lastused.aws import managed_policies, reports
from iam_lastused.aws import session as aws
from iam_lastused.aws.access_analyzer import AnalyzerError
from iam_lastused.aws.errors import AwsError, NoCredentials
from iam_lastused.aws.identity import caller_identity
from iam_lastused.aws.identity_center import IdentityCenter, ReservedRole, roles_in_accounts
from iam_lastused.aws.principals import confirm_deployed, iam_path
from iam_lastused.aws.s3_store import open_store
from iam_lastused.aws.stacks import stack_resources
from iam_lastused.environment import Environment
from iam_lastused.model import (
    AccessReport,
    CallerIdentity,
    Principal,
    ReportFailure,
    RunResult,
    SourceResult,
    UsageSource,
)
from iam_lastused.options import default
from iam_lastused.resolve import (
    account_from_arns,
    partition_of_region,
    with_arns,
    with_valid_names,
)
from iam_lastused.sources import resolve_from_stack
from iam_lastused.store.access_data import AccessDataError, load_access_data, report_from_response
from iam_lastused.store.snapshots import StoreError, is_store_url
from iam_lastused.usage import access_analyzer
from iam_lastused.usage import permission_sets as sets
from iam_lastused.usage.store_reader import StoreReader

NO_CREDENTIALS = "no AWS credentials found: usage data skipped (set a profile, or use --access-data)"


class UsageError(Exception):
    """The options or an input named by them cannot be used; the run stops."""


@dataclass(frozen=True)
class Options:
    """What a run is asked to do. Names follow the long command-line options."""

    access_data: Path | str | None = None
    """An access-data file, or a store of snapshots: a directory or `s3://BUCKET/PREFIX`."""
    max_age: float = default("max-age")
    """Seconds: a store's snapshot older than this is not used."""
    usage_source: Literal["iam", "access-analyzer"] = default("usage-source")
    analyzer_arn: str | None = None
    stale_days: int = default("stale-days")
    granularity: Literal["service", "action"] = default("granularity")
    profile: str | None = None
    region: str | None = None
    account_id: str | None = None
    assume_role_arn: str | None = None
    max_services: int = default("max-services")
    no_cache: bool = False
    timeout: float = default("timeout")
    root: Path | None = None
    accounts: Mapping[str, str] = field(default_factory=dict)
    """A profile per account ID (the config file's `[accounts]`)."""
    suppress: Sequence[Mapping[str, Any]] = ()
    """Suppressions (the config file's `[[suppress]]`)."""
    progress: Callable[[int, int], None] | None = None
    """Called with (done, total) as reports complete."""


class Run:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.access_data: dict[str, dict[str, Any]] | None = None
        self.store: StoreReader | None = None
        self._session: Any = None
        self._account_clients: aws.AccountClients | None = None
        self.no_data: dict[str, str] = {}  # why a principal has no usage data, by ARN
        self.notes: list[str] = []  # about the usage data, for the report
        if options.usage_source == "access-analyzer" and (not options.analyzer_arn or options.access_data):
            raise UsageError("--usage-source access-analyzer needs --analyzer-arn ARN, and no --access-data")
        if options.access_data and is_store_url(options.access_data):
            in_s3 = str(options.access_data).startswith("s3://")  # a directory needs no AWS session
            try:
                store = open_store(options.access_data, self.session if in_s3 else None)
            except StoreError as exc:
                raise UsageError(str(exc)) from None
            self.store = StoreReader(store, options.max_age, options.granularity)
        elif options.access_data:
            try:
                self.access_data = load_access_data(Path(options.access_data))
            except AccessDataError as exc:
                raise UsageError(str(exc)) from None
        self._identity: CallerIdentity | Exception | None = None
        self.asked_aws = False
        """Whether reports were asked of AWS (for the report's usage source)."""
        self.interrupted = False
        self.warnings: dict[str, None] = {}

    def warn(self, message: str) -> None:
        self.warnings[message] = None

    @property
    def session(self) -> Any:
        if self._session is None:
            try:
                self._session = aws.make_session(self.options.profile, self.options.region)
            except Exception as exc:  # boto3 raises several unrelated types for a bad profile
                raise UsageError(f"cannot set up AWS: {exc}") from None
        return self._session

    @property
    def account_clients(self) -> aws.AccountClients:
        """A way into each account (its profile, the role template, or the caller's own
        credentials), made once: each role assumed once a run."""
        if self._account_clients is None:
            options = self.options
            self._account_clients = aws.AccountClients(
                self.session, options.assume_role_arn, options.accounts
            )
        return self._account_clients

    def client(self, service: str) -> Any:
        try:
            return aws.lookup_client(self.session, service)
        except AwsError as exc:  # NoRegionError, for CloudFormation
            raise UsageError(f"cannot use AWS {service}: {exc} (give --region)") from None

    def identity(self) -> CallerIdentity:
        """Whose credentials this run reads AWS with: one sts:GetCallerIdentity call a run,
        its answer (or its error, raised again) kept."""
        if self._identity is None:
            try:
                self._identity = caller_identity(self.client("sts"))
            except AwsError as exc:
                self._identity = exc
        if isinstance(self._identity, Exception):
            raise self._identity
        return self._identity

    def _caller(self) -> str | None:
        """Who asks for reports, as the report cache keys them: the caller's ARN, and how
        it reaches each account (the role template, the profiles); None if unknown."""
        try:
            identity = self.identity()
        except AwsError:
            return None
        accounts = sorted(self.options.accounts.items())
        return f"{identity.arn}|{self.options.assume_role_arn or ''}|{accounts}"

    # Reports -----------------------------------------------------------------

    def fetch(self, arns: list[str]) -> dict[str, dict[str, Any] | ReportFailure]:
        """Reports from AWS; on Ctrl-C, what was complete (and `interrupted` is set).
        Cached reports are those this caller fetched; none when it cannot be known."""
        options = self.options
        self.asked_aws = True
        caller = None if options.no_cache else self._caller()
        settings = reports.EngineSettings(
            granularity=options.granularity, timeout=options.timeout, use_cache=caller is not None,
            caller=caller or "",
        )
        try:
            fetched = reports.fetch_reports(self.account_clients, arns, settings, progress=options.progress)
        except reports.Interrupted as stop:
            self.interrupted = True
            self.warn("interrupted: the report below is partial")
            return stop.outcomes
        for note in fetched.notes:
            self.warn(note)
        return fetched.outcomes

    def outcomes(self, arns: list[str]) -> dict[str, AccessReport | ReportFailure]:
        """The report or failure for each ARN that has one, from the access data or from AWS."""
        if self.access_data is not None:
            data = self.access_data
            raw: dict[str, dict[str, Any] | ReportFailure] = {arn: data[arn] for arn in arns if arn in data}
        elif self.store is not None:
            raw = {**self.store.reports(arns, self.warn)}
            self.notes += self.store.notes()
            missing = [arn for arn in arns if arn not in raw]
            if missing:
                try:
                    raw.update(self.fetch(missing))
                except reports.CredentialsMissing:
                    self.asked_aws = False
                    self.warn(f"no AWS credentials to ask IAM for the {len(missing)} principal"
                              f"{'s' * (len(missing) != 1)} the store lacks: no data for them")
                    self.no_data.update(dict.fromkeys(missing, "not in the store, and no AWS credentials "
                                                      "to ask IAM"))
        elif arns:
            try:
                raw = self.fetch(arns)
            except reports.CredentialsMissing:
                self.asked_aws = False
                self.warn(NO_CREDENTIALS)
                return {arn: ReportFailure(arn, "no AWS credentials") for arn in arns}
        else:
            raw = {}
        return {
            arn: value if isinstance(value, ReportFailure) else report_from_response(arn, value)
            for arn, value in raw.items()
        }

    def with_managed_policies(self, principals: Sequence[Principal]) -> tuple[Principal, ...]:
        """The principals with the statements of the managed policies they are attached to
        but the code does not define, from the access data or from IAM."""
        arns = managed_policies.attached_policy_arns(principals)
        if not arns:
            return tuple(principals)
        if self.access_data is not None:
            documents = managed_policies.documents_from_access_data(self.access_data)
        else:  # a store's snapshots hold the documents of policies in their accounts
            stored = self.store.documents() if self.store is not None else {}
            documents = managed_policies.documents_from_access_data(stored)
            missing = [arn for arn in arns if arn not in documents]
            if missing:
                use_cache = not self.options.no_cache
                fetched = managed_policies.fetch_documents(self.client("iam"), missing, use_cache)
                for note in fetched.notes:
                    self.warn(note)
                documents = {**documents, **fetched.found}
        return managed_policies.with_documents(principals, documents)

    # Resolve -----------------------------------------------------------------

    def given_account(self) -> Environment | None:
        """The account as given (--account-id, or an access-data file naming one account),
        with no call to AWS: its partition is the access data's, else the region's."""
        options = self.options
        from_data = account_from_arns(self.access_data) if self.access_data is not None else None
        if options.account_id:
            partition = from_data.partition if from_data else partition_of_region(options.region)
            return Environment(options.account_id, options.region, partition)
        return replace(from_data, region=options.region) if from_data else None

    def account(self) -> tuple[Environment | None, str]:
        """The account that principals named in code live in, or why it is unknown.
        A given account ID needs no call: its partition is the region's."""
        given = self.given_account()
        if given is not None:
            return given, ""
        if self.access_data is not None:
            return None, "account unknown: give --account-id (the access data names no one account)"
        try:
            identity = self.identity()
            return Environment(identity.account, self.options.region, identity.partition), ""
        except NoCredentials:
            self.warn(NO_CREDENTIALS)
            return None, "no AWS credentials: the account is unknown"
        except AwsError as exc:
            self.warn(f"cannot identify the AWS account (sts:GetCallerIdentity): {exc}")
            return None, "the AWS account could not be identified"

    def resolve_stacks(self, principals: Sequence[Principal], stacks: set[str]) -> list[Principal]:
        """CloudFormation principals with the physical names their stacks gave them."""
        client = self.client("cloudformation")
        iam = self.client("iam")
        resolved = list(principals)
        for stack in sorted(stacks):
            try:
                physical = stack_resources(client, stack)
            except AwsError as exc:
                message = f"cannot read stack {stack} (cloudformation:ListStackResources): {exc}"
                raise UsageError(message) from None
            in_stack = [p for p in resolved if p.address.startswith(f"{stack}/")]
            others = [p for p in resolved if not p.address.startswith(f"{stack}/")]
            path_of = functools.partial(iam_path, iam)
            resolved = others + resolve_from_stack(in_stack, physical, path_of)
        return resolved

    def resolve(self, principals: Sequence[Principal], confirm: bool = True) -> list[Principal]:
        """ARNs from names and the account; live, each confirmed with IAM (`confirm`)."""
        if not principals:  # nothing to name: no account to ask for (nor credentials to miss)
            return []
        account, why_unknown = self.account()
        resolved = with_arns(principals, account, why_unknown)
        # a permission set is no IAM principal: its roles are found before the reports (with_roles)
        if self.store is not None:  # its snapshots list every principal, with when it was created
            store = self.store
            return [replace(p, created=store.created(p.arn, self.warn))
                    if p.arn and not p.unresolved and p.kind != "permission-set" else p
                    for p in resolved]
        if not confirm or self.access_data is not None or account is None:
            return resolved
        client = self.client("iam")

        def confirmed(principal: Principal) -> Principal:
            return principal if principal.kind == "permission-set" else confirm_deployed(client, principal)

        try:
            with ThreadPoolExecutor(max_workers=8) as pool:
                return list(pool.map(confirmed, resolved))
        except NoCredentials:  # the account was given (--account-id), so STS was not asked
            self.warn(NO_CREDENTIALS)
        except AwsError as exc:  # no endpoint, say: the reports will meet it too
            self.warn(f"cannot ask IAM whether the principals exist: {exc}")
        return resolved

    # Permission sets ---------------------------------------------------------

    def with_roles(self, principals: Sequence[Principal]) -> list[Principal]:
        """Each permission set with its role in each account it is assigned to: the accounts
        the code names, else those Identity Center says it is provisioned to (offline, those
        of which the access data holds its role)."""
        if not any(sets.needs_roles(p) for p in principals):
            return list(principals)
        if self.access_data is not None:
            data = self.access_data
            return [sets.from_access_data(p, data) if sets.needs_roles(p) else p for p in principals]
        identity_center = IdentityCenter(self.session)
        assigned = [
            self._provisioned(p, identity_center) if sets.needs_roles(p) and p.accounts is None
            else (p, p.accounts or ())
            for p in principals
        ]
        lookup = self._role_lookup([account for p, accounts in assigned if sets.needs_roles(p)
                                    for account in accounts])
        return [sets.with_roles(p, accounts, lookup.__getitem__) if sets.needs_roles(p) else p
                for p, accounts in assigned]

    def _provisioned(self, principal: Principal, identity_center: IdentityCenter) -> tuple[
        Principal, tuple[str, ...]
    ]:
        """The permission set and the accounts Identity Center has provisioned it to; not
        deployed when Identity Center has none of its name, unresolved when it cannot say."""
        try:
            arn = principal.arn or identity_center.permission_set_arn(principal.name or "")
            if arn is None:
                return replace(principal, deployed=False), ()
            return principal, tuple(identity_center.accounts(arn))
        except NoCredentials:
            self.warn(NO_CREDENTIALS)
            why = "no AWS credentials to ask IAM Identity Center"
        except AwsError as exc:
            self.warn(f"{exc}: the accounts of permission sets the code does not assign are not known")
            why = f"IAM Identity Center cannot say: {exc}"
        return replace(principal, unresolved=f"the code assigns it to no account, and {why}"), ()

    def _role_lookup(self, accounts: Sequence[str]) -> dict[str, sets.Listing | str]:
        """What is known of each account's reserved roles: its snapshot in the store, else
        IAM's listing through the account's credentials; for the rest, why not (warned
        once an account)."""
        known: dict[str, sets.Listing | str] = {}
        live = []
        for account in dict.fromkeys(accounts):
            listed = self.store.principals(account, self.warn) if self.store is not None else None
            if listed is None:
                live.append(account)
            else:
                known[account] = sets.Listing(tuple(ReservedRole(*item) for item in listed.items()), True)
        if live:
            known.update(self._listed_live(live))
        return known

    def _listed_live(self, accounts: list[str]) -> dict[str, sets.Listing | str]:
        """Each account's reserved roles as IAM lists them; an account the caller has no way
        into (its own credentials read only its own account) is said, not listed."""
        try:
            own = self.identity().account
            reachable = [account for account in accounts if self.account_clients.reaches(account, own)]
            listed = roles_in_accounts(self.account_clients, reachable)
        except NoCredentials:
            self.warn(NO_CREDENTIALS)
            return dict.fromkeys(accounts, "no AWS credentials to list its roles")
        except AwsError as exc:
            self.warn(f"cannot identify the AWS account (sts:GetCallerIdentity): {exc}")
            return dict.fromkeys(accounts, "the caller's account could not be identified")
        known: dict[str, sets.Listing | str] = {}
        for account in accounts:
            found = listed.get(account)
            if isinstance(found, list):
                known[account] = sets.Listing(tuple(found), True)
                continue
            why = str(found) if found is not None else (
                f"no way into it: the caller is in {own}; give --assume-role-arn or a profile for it "
                "in [accounts]")
            self.warn(f"account {account}: {why}: the roles of permission sets there are not known")
            known[account] = why
        return known

    # Analysis ----------------------------------------------------------------

    def analyse(self, found: SourceResult, usage: bool = True) -> RunResult:
        """Join what a source found with the reports; `usage=False` for static findings only."""
        options = self.options
        # after resolve: a name IAM confirmed is IAM's (moto's nested stacks make longer ones)
        found = with_suppressions(replace(found, principals=tuple(with_valid_names(found.principals))),
                                  options.suppress)
        outcomes: dict[str, AccessReport | ReportFailure] = {}
        analyzer = options.usage_source == "access-analyzer"
        if usage:
            found = replace(found, principals=tuple(self.with_roles(found.principals)))
        if usage and analyzer and found.principals:  # its findings are judged against the grants
            found = replace(found, principals=self.with_managed_policies(found.principals))
            outcomes = dict(self.analyzer_outcomes(found.principals))
        elif usage and not analyzer:
            arns = [arn for p in found.principals for arn in _report_arns(p)]
            outcomes = self.outcomes(list(dict.fromkeys(arns)))
            self._warn_failures(outcomes)
            if any(isinstance(outcome, AccessReport) for outcome in outcomes.values()):
                found = replace(found, principals=self.with_managed_policies(found.principals))
        found = replace(found, principals=tuple(self._with_no_data(p) for p in found.principals))
        now = datetime.now(timezone.utc)
        principals = analyze(
            found.principals, outcomes, now, options.stale_days, options.max_services, options.granularity
        )
        if not usage:  # but a name not shown still says why
            principals = tuple(
                p if p.status == "invalid-name"
                else replace(p, status="no-data", error="usage data not requested (offline)")
                for p in principals
            )
        principals = tuple(
            replace(p, error=self.no_data[p.principal.arn])
            if p.status == "no-data" and p.principal.arn in self.no_data else p
            for p in principals
        )
        return RunResult(
            stale_days=options.stale_days,
            now=now,
            principals=principals,
            errors=found.errors,
            notes=found.notes + tuple(self.notes) + granularity_notes(principals, options.granularity),
            warnings=tuple(self.warnings),
            interrupted=self.interrupted,
            usage_source=self.usage_source() if usage else UsageSource("none"),
        )

    def _with_no_data(self, principal: Principal) -> Principal:
        """A permission set's roles with why each has no usage data, where that is known."""
        if not any(role.arn in self.no_data for role in principal.roles):
            return principal
        roles = tuple(replace(role, why=self.no_data[role.arn]) if role.arn in self.no_data else role
                      for role in principal.roles)
        return replace(principal, roles=roles)

    def analyzer_outcomes(self, principals: Sequence[Principal]) -> dict[str, AccessReport]:
        """Reports made of IAM Access Analyzer's findings (usage/access_analyzer.py); a
        permission set's roles are judged as any role is, with the permission set's grants."""
        judged = [role for p in principals for role in sets.role_principals(p)]
        judged += [p for p in principals if p.kind != "permission-set"]
        try:
            analyzer, found = access_analyzer.from_analyzer(
                self.session, self.client("iam"), self.options.analyzer_arn or "", judged,
                datetime.now(timezone.utc), self.options.granularity,
            )
        except AnalyzerError as exc:
            raise UsageError(str(exc)) from None
        self.no_data.update(found.no_data)
        self.notes.append(access_analyzer.source_note(analyzer, self.options.stale_days))
        return found.outcomes

    def usage_source(self) -> UsageSource:
        """Where this run's usage data came from."""
        if self.options.usage_source == "access-analyzer":
            return UsageSource("access-analyzer", identity=self.identity_if_known(),
                               analyzer_arn=self.options.analyzer_arn)
        if self.store is not None:  # what the store lacked may have been asked of AWS too
            return UsageSource("store", identity=self.identity_if_known() if self.asked_aws else None,
                               store=str(self.options.access_data))
        if self.options.access_data is not None:
            path = Path(self.options.access_data)
            try:
                written = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
            except OSError:
                written = None
            return UsageSource("file", file=str(path), file_date=written)
        if not self.asked_aws:
            return UsageSource("none")
        return UsageSource("live", identity=self.identity_if_known())

    def identity_if_known(self) -> CallerIdentity | None:
        """The caller's identity, or None when STS cannot say (no credentials, say)."""
        try:
            return self.identity()
        except AwsError:
            return None

    def _warn_failures(self, outcomes: Mapping[str, AccessReport | ReportFailure]) -> None:
        """Each distinct failure once, however many principals it hit."""
        failures = (o for o in outcomes.values() if isinstance(o, ReportFailure) and not o.not_found)
        for message, count in Counter(o.message for o in failures).items():
            if message != "no AWS credentials":
                self.warn(f"{message} ({count} principal{'s' if count != 1 else ''} not analysed)")


def _report_arns(principal: Principal) -> list[str]:
    """The ARNs whose reports judge the principal: its own, or a permission set's roles'."""
    if principal.kind == "permission-set":
        return [role.arn for role in principal.roles if role.arn]
    if principal.arn and not principal.unresolved and principal.deployed is not False:
        return [principal.arn]
    return []
