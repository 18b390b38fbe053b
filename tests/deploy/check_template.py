"""Checks on the deploy template that no linter makes, on the template as AWS would create it.

    python tests/deploy/check_template.py RAW_TEMPLATE TRANSLATED_JSON [--self-test]

RAW_TEMPLATE is deploy/template.yaml (SAM), TRANSLATED_JSON its translation by translate.py.
Prints what it checked; exits 1 listing every finding. With --self-test it then breaks the
template in memory in each way the checks are there to catch (a parallel mapping, no tumbling
window, a "*" resource, a binary that does not exist, ...) and fails unless each break is found.

What is checked:
- IAM: every statement of every role and policy names specific resources: no "*" resource, no
  service-wide wildcard, no NotAction/NotResource, no "*" action, no AWS managed policy, except
  the statements listed in EXCEPTIONS (each with its reason; an exception no longer needed is a
  finding too). Resource policies (bucket, queue, topic) allow only named principals on their
  own resources; "*" principals only in Deny statements. KMS key policies are exempt from the
  resource rule ("*" there means the key itself) but not from the principal rule.
- The capture event source mapping: TRIM_HORIZON, ParallelizationFactor 1, a tumbling window,
  bisection, ReportBatchItemFailures, unbounded retries and record age, an encrypted SQS
  on-failure destination; an IteratorAge alarm on the capture function that notifies.
- Functions: provided.al2023, bootstrap, the Architecture parameter (arm64 default, x86_64
  allowed), BuildMethod rust-cargolambda, a Binary that exists in the workspace (src/bin/NAME.rs
  or a [[bin]] NAME in the crate at CodeUri), the environment each binary reads, and every
  REWIND_* variable set is one the Rust sources read.
- State machines: every ${...} in a definition has a substitution and every substitution is
  used; every Task invokes the worker with a payload whose fields are exactly those of the
  worker's `Step` variant for its action (crates/service/src/steps.rs, which denies unknown
  fields), retries Rewind.Retryable and Lambda's throttling, and failures lead to job_failed.
- Schedules: compaction {"table"}, scrub {"table", "check": true}, probe, full backups.
- Storage: bucket versioned, SSE-KMS with a rotating customer key, public access blocked, TLS
  required, no DEEP_ARCHIVE/GLACIER transitions; job table SSE-KMS with PITR.
- Metrics: every alarm notifies; the dashboard is JSON; every Rewind metric that an alarm or the
  dashboard names is one the Rust code publishes (crates/*/src/metrics.rs).
"""

import copy
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from translate import load  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# (logical id of the role or policy, statement Sid) -> why its "*" resource is needed.
EXCEPTIONS = {
    ("CaptureRole", "Metrics"): "cloudwatch:PutMetricData has no resource type; the condition "
    "cloudwatch:namespace = Rewind limits it",
    ("CompactorRole", "Metrics"): "cloudwatch:PutMetricData has no resource type; the condition "
    "cloudwatch:namespace = Rewind limits it",
    ("WorkerRole", "Metrics"): "cloudwatch:PutMetricData has no resource type; the condition "
    "cloudwatch:namespace = Rewind limits it",
    ("StateMachineObservabilityPolicy", "VendedLogDelivery"): "the CloudWatch Logs delivery "
    "actions Step Functions logging needs have no resource type (AWS documents '*')",
    ("StateMachineObservabilityPolicy", "Tracing"): "X-Ray's PutTraceSegments, "
    "PutTelemetryRecords and sampling actions have no resource type",
}
# (role logical id, managed policy name) -> why an AWS managed policy is attached.
MANAGED_POLICY_EXCEPTIONS = {
    ("ApiGatewayLoggingRole", "AmazonAPIGatewayPushToCloudWatchLogs"): "the account-wide role "
    "API Gateway logs with serves every API of the region, whose log groups API Gateway names "
    "itself; AWS documents this managed policy for it",
}
# Statements that must carry a condition, because their resource is "*".
REQUIRED_CONDITIONS = {"Metrics": "cloudwatch:namespace"}

FUNCTIONS = {
    # logical id: (binary, crate dir, environment variables it must have)
    "CaptureFunction": ("rewind-capture-lambda", "crates/capture", ["REWIND_STORE"]),
    "CompactorFunction": ("rewind-compactor-lambda", "crates/compactor", ["REWIND_STORE"]),
    "ApiFunction": ("rewind-api-lambda", "crates/api-lambda",
                    ["REWIND_STORE", "REWIND_JOB_TABLE", "REWIND_STATE_MACHINE_ARN",
                     "REWIND_SNS_TOPIC"]),
    "WorkerFunction": ("rewind-worker-lambda", "crates/worker-lambda",
                       ["REWIND_STORE", "REWIND_JOB_TABLE", "REWIND_SNS_TOPIC"]),
}
STATE_MACHINES = {
    "RestoreStateMachine": "deploy/statemachines/restore.asl.json",
    "BackupStateMachine": "deploy/statemachines/backup.asl.json",
}
STEPS_RS = "crates/service/src/steps.rs"
LAMBDA_RETRIED = {"Lambda.ServiceException", "Lambda.AWSLambdaException",
                  "Lambda.SdkClientException", "Lambda.TooManyRequestsException"}


class Checker:
    def __init__(self, raw, cfn, root=ROOT, steps_rs=None):
        self.raw = raw
        self.cfn = cfn
        self.res = cfn["Resources"]
        self.root = root
        self.steps_rs = steps_rs
        self.findings = []
        self.checked = []
        self.used_exceptions = set()

    def fail(self, msg):
        self.findings.append(msg)

    def done(self, what):
        self.checked.append(what)

    # ---- helpers ----------------------------------------------------------------------

    def of_type(self, kind):
        return {k: v for k, v in self.res.items() if v.get("Type") == kind}

    @staticmethod
    def as_list(v):
        return v if isinstance(v, list) else [v]

    @staticmethod
    def ref_target(v):
        """The logical id a Ref/GetAtt points at, else None."""
        if isinstance(v, dict):
            if "Ref" in v:
                return v["Ref"]
            if "Fn::GetAtt" in v:
                att = v["Fn::GetAtt"]
                return att[0] if isinstance(att, list) else att.split(".")[0]
        return None

    @staticmethod
    def text(v):
        """A resource or ARN as text: Sub strings as written, references as <ref:X>."""
        if isinstance(v, str):
            return v
        if isinstance(v, dict):
            if "Fn::Sub" in v:
                s = v["Fn::Sub"]
                return s if isinstance(s, str) else s[0]
            t = Checker.ref_target(v)
            if t:
                return f"<ref:{t}>"
            if "Fn::If" in v:
                return " | ".join(Checker.text(x) for x in v["Fn::If"][1:])
            if "Fn::Join" in v:
                return v["Fn::Join"][0].join(Checker.text(x) for x in v["Fn::Join"][1])
        return json.dumps(v)

    @staticmethod
    def specific(resource_text):
        """Whether a resource names something: not "*", and an ARN whose resource part is
        more than a wildcard."""
        if resource_text.startswith("<ref:"):
            return True
        if resource_text.strip() in ("*", ""):
            return False
        if resource_text.startswith("arn:"):
            parts = resource_text.split(":", 5)
            if len(parts) < 6:
                return False
            rest = parts[5]
            # s3:::* , table/* , stateMachine:* : the whole service.
            return rest not in ("*",) and not re.fullmatch(r"[A-Za-z-]*[/:]\*", rest)
        return True

    @staticmethod
    def statements(doc):
        if isinstance(doc, dict) and "Fn::If" in doc:
            return []
        return [s for s in Checker.as_list(doc.get("Statement", [])) if isinstance(s, dict)]

    @staticmethod
    def flatten_conditional(stmts):
        """Statements, with !If [cond, STATEMENT, AWS::NoValue] resolved to the statement."""
        out = []
        for s in stmts:
            if "Fn::If" in s:
                for branch in s["Fn::If"][1:]:
                    if isinstance(branch, dict) and "Effect" in branch:
                        out.append(branch)
            else:
                out.append(s)
        return out

    # ---- IAM --------------------------------------------------------------------------

    def identity_statements(self):
        """(owner logical id, statement) of every identity policy in the stack."""
        for name, r in self.res.items():
            props = r.get("Properties", {})
            if r["Type"] == "AWS::IAM::Role":
                for pol in props.get("Policies", []):
                    doc = pol.get("PolicyDocument", {})
                    for st in self.flatten_conditional(self.as_list(doc.get("Statement", []))):
                        yield name, st
            elif r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                doc = props.get("PolicyDocument", {})
                for st in self.flatten_conditional(self.as_list(doc.get("Statement", []))):
                    yield name, st

    def check_iam(self):
        n = 0
        for owner, st in self.identity_statements():
            n += 1
            sid = st.get("Sid", "")
            where = f"{owner} statement {sid or json.dumps(st.get('Action'))}"
            for bad in ("NotAction", "NotResource", "NotPrincipal"):
                if bad in st:
                    self.fail(f"IAM {where}: uses {bad}")
            actions = [self.text(a) for a in self.as_list(st.get("Action", []))]
            for a in actions:
                if a == "*" or a.endswith(":*"):
                    self.fail(f"IAM {where}: action {a} grants a whole service")
            resources = [self.text(x) for x in self.as_list(st.get("Resource", []))]
            if not resources:
                self.fail(f"IAM {where}: no Resource")
            loose = [x for x in resources if not self.specific(x)]
            if loose and st.get("Effect") == "Allow":
                key = (owner, sid)
                if key in EXCEPTIONS:
                    self.used_exceptions.add(key)
                    need = REQUIRED_CONDITIONS.get(sid)
                    if need and need not in json.dumps(st.get("Condition", {})):
                        self.fail(f"IAM {where}: '*' resource allowed only with a {need} condition")
                else:
                    self.fail(f"IAM {where}: resource {loose} is not specific "
                              f"(name the resource, or add ({owner!r}, {sid!r}) to EXCEPTIONS with the reason)")
        for key in EXCEPTIONS:
            if key not in self.used_exceptions:
                self.fail(f"IAM exception {key} is not needed any more: remove it from EXCEPTIONS")
        # Managed policies: only our own (checked above) or documented AWS ones.
        for name, r in self.of_type("AWS::IAM::Role").items():
            for arn in r.get("Properties", {}).get("ManagedPolicyArns", []):
                if self.ref_target(arn) in self.res:
                    continue
                policy = self.text(arn).rsplit("/", 1)[-1]
                if (name, policy) not in MANAGED_POLICY_EXCEPTIONS:
                    self.fail(f"IAM {name}: AWS managed policy {policy} (write the statements it needs)")
        self.done(f"IAM: {n} identity statements name specific resources "
                  f"({len(self.used_exceptions)} documented exceptions)")
        self.check_resource_policies()

    def check_resource_policies(self):
        n = 0
        kinds = {"AWS::S3::BucketPolicy": "PolicyDocument", "AWS::SQS::QueuePolicy": "PolicyDocument",
                 "AWS::SNS::TopicPolicy": "PolicyDocument", "AWS::KMS::Key": "KeyPolicy"}
        for name, r in self.res.items():
            field = kinds.get(r["Type"])
            if not field:
                continue
            for st in self.statements(r["Properties"].get(field, {})):
                n += 1
                where = f"{name} statement {st.get('Sid', '')}"
                principal = st.get("Principal")
                if st.get("Effect") == "Allow" and (principal == "*" or principal == {"AWS": "*"}):
                    self.fail(f"resource policy {where}: allows any principal")
                if r["Type"] != "AWS::KMS::Key" and st.get("Effect") == "Allow":
                    for x in self.as_list(st.get("Resource", [])):
                        if not self.specific(self.text(x)):
                            self.fail(f"resource policy {where}: resource {self.text(x)} is not specific")
        self.done(f"resource policies: {n} statements, no Allow to any principal")

    # ---- capture ----------------------------------------------------------------------

    def check_capture_mapping(self):
        esms = [r for r in self.of_type("AWS::Lambda::EventSourceMapping").values()
                if self.ref_target(r["Properties"].get("FunctionName")) == "CaptureFunction"]
        if len(esms) != 1:
            self.fail(f"capture: expected one event source mapping, found {len(esms)}")
            return
        p = esms[0]["Properties"]
        want = {
            "StartingPosition": "TRIM_HORIZON",
            "ParallelizationFactor": 1,
            "BisectBatchOnFunctionError": True,
            "MaximumRetryAttempts": -1,
            "MaximumRecordAgeInSeconds": -1,
        }
        for k, v in want.items():
            if p.get(k) != v:
                self.fail(f"capture mapping: {k} is {p.get(k)!r}, must be {v!r}")
        tw = p.get("TumblingWindowInSeconds")
        if not isinstance(tw, int) or not 0 < tw <= 900:
            self.fail(f"capture mapping: TumblingWindowInSeconds is {tw!r}; it must be 1..900 "
                      "(only with a window does the event carry shardId)")
        if "ReportBatchItemFailures" not in p.get("FunctionResponseTypes", []):
            self.fail("capture mapping: FunctionResponseTypes lacks ReportBatchItemFailures")
        dest = self.ref_target(p.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"))
        q = self.res.get(dest, {})
        if q.get("Type") != "AWS::SQS::Queue":
            self.fail("capture mapping: the on-failure destination is not an SQS queue of the stack")
        elif not q["Properties"].get("KmsMasterKeyId"):
            self.fail(f"capture mapping: on-failure queue {dest} is not encrypted with the key")
        alarms = [a for a in self.of_type("AWS::CloudWatch::Alarm").values()
                  if a["Properties"].get("MetricName") == "IteratorAge"
                  and any(self.ref_target(d.get("Value")) == "CaptureFunction"
                          for d in a["Properties"].get("Dimensions", []))]
        if not alarms or not alarms[0]["Properties"].get("AlarmActions"):
            self.fail("capture: no IteratorAge alarm with an action on the capture function")
        if not any(a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
                   and any(self.ref_target(d.get("Value")) == dest
                           for d in a["Properties"].get("Dimensions", []))
                   for a in self.of_type("AWS::CloudWatch::Alarm").values()):
            self.fail("capture: no alarm on the on-failure queue's depth")
        self.done("capture mapping: TRIM_HORIZON, ParallelizationFactor 1, tumbling window "
                  f"{tw} s, bisect, ReportBatchItemFailures, retries -1, age -1, encrypted SQS "
                  "on-failure queue with a depth alarm, IteratorAge alarm")

    # ---- functions --------------------------------------------------------------------

    def binary_exists(self, crate_dir, binary):
        crate = os.path.join(self.root, crate_dir)
        if os.path.isfile(os.path.join(crate, "src", "bin", f"{binary}.rs")):
            return True
        try:
            with open(os.path.join(crate, "Cargo.toml"), encoding="utf-8") as f:
                manifest = f.read()
        except OSError:
            return False
        for block in re.findall(r"\[\[bin\]\](.*?)(?=\n\[|\Z)", manifest, re.S):
            if re.search(r'^\s*name\s*=\s*"' + re.escape(binary) + '"', block, re.M):
                return True
        return False

    def rust_env_names(self):
        names = set()
        for base in ("crates", "replay"):
            for dirpath, _, files in os.walk(os.path.join(self.root, base)):
                for f in files:
                    if f.endswith(".rs"):
                        with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                            names.update(re.findall(r'"(REWIND_[A-Z_]+)"', fh.read()))
        return names

    def check_functions(self):
        params = self.raw.get("Parameters", {})
        arch = params.get("Architecture", {})
        if arch.get("Default") != "arm64" or set(arch.get("AllowedValues", [])) != {"arm64", "x86_64"}:
            self.fail("Architecture parameter: default arm64, allowed arm64 and x86_64")
        rust_env = self.rust_env_names()
        raw_res = self.raw["Resources"]
        lambdas = self.of_type("AWS::Lambda::Function")
        for name in lambdas:
            if name not in FUNCTIONS:
                self.fail(f"function {name} is not in FUNCTIONS: say which binary and crate it is")
        for name, (binary, crate_dir, env) in FUNCTIONS.items():
            fn = lambdas.get(name)
            if fn is None:
                self.fail(f"function {name} is missing")
                continue
            p = fn["Properties"]
            meta = raw_res.get(name, {}).get("Metadata", {})
            if meta.get("BuildMethod") != "rust-cargolambda":
                self.fail(f"{name}: Metadata.BuildMethod must be rust-cargolambda")
            built = meta.get("BuildProperties", {}).get("Binary")
            if built != binary:
                self.fail(f"{name}: BuildProperties.Binary is {built!r}, expected {binary!r}")
            code_uri = raw_res.get(name, {}).get("Properties", {}).get("CodeUri", "")
            crate = os.path.normpath(os.path.join("deploy", code_uri))
            if crate != crate_dir:
                self.fail(f"{name}: CodeUri {code_uri} is not ../{crate_dir}")
            if built and not self.binary_exists(crate, built):
                self.fail(f"{name}: binary {built} does not exist in {crate} "
                          f"(no src/bin/{built}.rs, no [[bin]] name = \"{built}\")")
            if p.get("Runtime") != "provided.al2023" or p.get("Handler") != "bootstrap":
                self.fail(f"{name}: runtime provided.al2023 with handler bootstrap")
            if p.get("Architectures") != [{"Ref": "Architecture"}]:
                self.fail(f"{name}: Architectures must come from the Architecture parameter")
            if not p.get("KmsKeyArn"):
                self.fail(f"{name}: environment not encrypted with the stack's key (KmsKeyArn)")
            variables = p.get("Environment", {}).get("Variables", {})
            for v in env:
                if v not in variables:
                    self.fail(f"{name}: environment lacks {v}")
            for v in variables:
                if v.startswith("REWIND_") and v not in rust_env:
                    self.fail(f"{name}: sets {v}, which no Rust source reads (a typo?)")
            role = self.ref_target(p.get("Role"))
            if role not in self.res or sum(
                    1 for f in lambdas.values() if self.ref_target(f["Properties"].get("Role")) == role) != 1:
                self.fail(f"{name}: needs a role of its own")
        self.done(f"functions: {len(FUNCTIONS)} on provided.al2023 with the Architecture parameter, "
                  "each binary present in the workspace, own role, encrypted environment, "
                  "REWIND_* variables the code reads")

    # ---- state machines ---------------------------------------------------------------

    def step_fields(self):
        """action -> (required fields, optional fields) of the worker's Step enum."""
        path = self.steps_rs or os.path.join(self.root, STEPS_RS)
        with open(path, encoding="utf-8") as f:
            src = f.read()
        m = re.search(r"pub enum Step \{(.*?)\n\}", src, re.S)
        if not m or "deny_unknown_fields" not in src[:m.start()].rsplit("#[derive", 1)[-1]:
            self.fail(f"{STEPS_RS}: no `pub enum Step` with deny_unknown_fields to check payloads against")
            return {}
        steps = {}
        for variant, body in re.findall(r"\n    (\w+) \{(.*?)\n    \},", m.group(1), re.S):
            action = re.sub(r"(?<!^)([A-Z])", r"_\1", variant).lower()
            required, optional = set(), set()
            default = False
            for line in body.splitlines():
                line = line.strip()
                if line.startswith("//") or not line:
                    continue
                if line.startswith("#["):
                    default = default or "serde(default)" in line
                    continue
                field = re.match(r"(?:pub\s+)?(\w+)\s*:", line)
                if field:
                    (optional if default else required).add(field.group(1))
                default = False
            steps[action] = (required, optional)
        return steps

    @staticmethod
    def definition(props):
        """The definition as deployed: SAM turns an inline Definition into DefinitionString, a
        Fn::Join of its lines."""
        if "Definition" in props:
            return props["Definition"]
        ds = props["DefinitionString"]
        if isinstance(ds, dict) and "Fn::Join" in ds:
            sep, parts = ds["Fn::Join"]
            ds = sep.join(parts)
        return json.loads(ds)

    def walk_states(self, states, path=""):
        for name, st in states.items():
            yield f"{path}{name}", st
            proc = st.get("ItemProcessor") or st.get("Iterator")
            if proc:
                yield from self.walk_states(proc["States"], f"{path}{name}/")

    def check_state_machines(self):
        steps = self.step_fields()
        machines = self.of_type("AWS::StepFunctions::StateMachine")
        n_tasks = 0
        for name, rel in STATE_MACHINES.items():
            sm = machines.get(name)
            if sm is None:
                self.fail(f"state machine {name} is missing")
                continue
            p = sm["Properties"]
            definition = self.definition(p)
            text = json.dumps(definition)
            subs = p.get("DefinitionSubstitutions", {})
            used = set(re.findall(r"\$\{(\w+)\}", text))
            for u in sorted(used - set(subs)):
                self.fail(f"{name}: ${{{u}}} has no DefinitionSubstitution")
            for s in sorted(set(subs) - used):
                self.fail(f"{name}: substitution {s} is not used in the definition")
            for state_name, st in self.walk_states(definition["States"]):
                if st.get("Type") != "Task" or st.get("Resource") != "arn:aws:states:::lambda:invoke":
                    continue
                n_tasks += 1
                where = f"{name} state {state_name}"
                params = st.get("Parameters", {})
                if params.get("FunctionName") != "${WorkerFunctionArn}":
                    self.fail(f"{where}: invokes {params.get('FunctionName')}, not the worker")
                payload = params.get("Payload")
                if payload is None and params.get("Payload.$") == "$":
                    # A Map item: the payload is the ItemSelector's output.
                    parent = state_name.split("/")[0]
                    payload = definition["States"][parent].get("ItemSelector", {})
                if not isinstance(payload, dict):
                    self.fail(f"{where}: payload is not an object")
                    continue
                action = payload.get("action")
                keys = {k[:-2] if k.endswith(".$") else k for k in payload} - {"action"}
                if action not in steps:
                    self.fail(f"{where}: action {action!r} is not a worker Step ({sorted(steps)})")
                else:
                    required, optional = steps[action]
                    if required - keys:
                        self.fail(f"{where}: {action} lacks {sorted(required - keys)}")
                    if keys - required - optional:
                        self.fail(f"{where}: {action} gets unknown fields {sorted(keys - required - optional)} "
                                  "(the worker denies unknown fields)")
                retried = {e for r in st.get("Retry", []) for e in r.get("ErrorEquals", [])}
                if "Rewind.Retryable" not in retried or not LAMBDA_RETRIED <= retried:
                    self.fail(f"{where}: Retry must cover Rewind.Retryable and {sorted(LAMBDA_RETRIED)}")
                if {"Rewind.Failed", "Rewind.InvalidEvent", "States.ALL"} & retried:
                    self.fail(f"{where}: Rewind.Failed / Rewind.InvalidEvent must not be retried")
                if action != "job_failed" and "/" not in state_name:
                    catch = st.get("Catch", [])
                    if not any("States.ALL" in c.get("ErrorEquals", []) and c.get("Next") == "CanReport"
                               for c in catch):
                        self.fail(f"{where}: no Catch States.ALL -> CanReport (job_failed)")
            for state_name, st in definition["States"].items():
                if st.get("Type") == "Map" and not any(
                        c.get("Next") == "CanReport" for c in st.get("Catch", [])):
                    self.fail(f"{name} state {state_name}: a Map without a Catch to CanReport")
            failed = definition["States"].get("JobFailed", {})
            if failed.get("Parameters", {}).get("Payload", {}).get("action") != "job_failed" \
                    or failed.get("Next") != "Failed":
                self.fail(f"{name}: JobFailed must call job_failed, then Fail")
        self.done(f"state machines: {n_tasks} worker tasks send exactly the fields of their "
                  f"Step ({STEPS_RS}), retry Rewind.Retryable and Lambda throttling, "
                  "and fail through job_failed")

    # ---- schedules --------------------------------------------------------------------

    def rule_inputs(self, target_id):
        out = []
        for r in self.of_type("AWS::Events::Rule").values():
            for t in r["Properties"].get("Targets", []):
                if self.ref_target(t.get("Arn")) == target_id:
                    given = t.get("Input", "{}")
                    # An input chosen by a condition: each branch is a schedule's input.
                    branches = given["Fn::If"][1:] if isinstance(given, dict) and "Fn::If" in given else [given]
                    for branch in branches:
                        raw = (self.text(branch).replace("${TableName}", "T")
                               .replace("${RestoreTargetPrefix}", "P-").replace("${DrillSample}", "1"))
                        out.append((json.loads(raw), r["Properties"]))
        return out

    def check_schedules(self):
        comp = [i for i, _ in self.rule_inputs("CompactorFunction")]
        for want in ({"table": "T"}, {"table": "T", "check": True}):
            if want not in comp:
                self.fail(f"compactor: no schedule with the input {json.dumps(want)}")
        # Drills, when on, restore into the tables the compactor may create, and nowhere else.
        drills = [i for i in comp if "drill_to" in i]
        for d in drills:
            if d.get("drill_to") != "dynamodb://P-T" or not isinstance(d.get("drill_sample"), int):
                self.fail(f"compactor: drill input {json.dumps(d)} must restore into dynamodb://RestoreTargetPrefix+TableName with a numeric drill_sample")
        if {"action": "probe", "table": "T"} not in [i for i, _ in self.rule_inputs("CaptureFunction")]:
            self.fail("capture: no probe schedule {\"action\": \"probe\", \"table\": T}")
        backups = self.rule_inputs("BackupStateMachine")
        if len([i for i, _ in backups if i == {"kind": "backup", "table": "T"}]) < 2:
            self.fail("backup: needs its daily and weekly rules with {\"kind\": \"backup\", \"table\": T}")
        self.done(f"schedules: compaction, scrub, probe, {len(backups)} full-backup rules")

    # ---- storage ----------------------------------------------------------------------

    def check_storage(self):
        bucket = self.res.get("BackupBucket", {}).get("Properties", {})
        if bucket.get("VersioningConfiguration", {}).get("Status") != "Enabled":
            self.fail("BackupBucket: versioning must be enabled")
        sse = bucket.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [{}])[0]
        default = sse.get("ServerSideEncryptionByDefault", {})
        key = self.ref_target(default.get("KMSMasterKeyID"))
        if default.get("SSEAlgorithm") != "aws:kms" or self.res.get(key, {}).get("Type") != "AWS::KMS::Key":
            self.fail("BackupBucket: SSE-KMS with the stack's customer managed key")
        elif not self.res[key]["Properties"].get("EnableKeyRotation"):
            self.fail(f"{key}: key rotation must be on")
        pab = bucket.get("PublicAccessBlockConfiguration", {})
        if not all(pab.get(k) is True for k in ("BlockPublicAcls", "BlockPublicPolicy",
                                                 "IgnorePublicAcls", "RestrictPublicBuckets")):
            self.fail("BackupBucket: every public access block setting must be true")
        tls = False
        for r in self.of_type("AWS::S3::BucketPolicy").values():
            if self.ref_target(r["Properties"].get("Bucket")) == "BackupBucket":
                for st in self.statements(r["Properties"]["PolicyDocument"]):
                    if st.get("Effect") == "Deny" and "aws:SecureTransport" in json.dumps(st.get("Condition")):
                        tls = True
        if not tls:
            self.fail("BackupBucket: no bucket policy denying non-TLS access")
        for rule in bucket.get("LifecycleConfiguration", {}).get("Rules", []):
            for t in rule.get("Transitions", []) + rule.get("NoncurrentVersionTransitions", []):
                if t.get("StorageClass") in ("DEEP_ARCHIVE", "GLACIER"):
                    self.fail(f"BackupBucket lifecycle {rule.get('Id')}: {t['StorageClass']} objects fail "
                              "GetObject until thawed; the restorable window must stay readable")
        table = self.res.get("JobTable", {}).get("Properties", {})
        keys = [(k["AttributeName"], k["KeyType"]) for k in table.get("KeySchema", [])]
        if keys != [("job_id", "HASH")]:
            self.fail(f"JobTable: key must be job_id (crates/service/src/jobs/catalog.rs), is {keys}")
        if table.get("SSESpecification", {}).get("SSEType") != "KMS" or \
                not table.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
            self.fail("JobTable: SSE-KMS and point-in-time recovery")
        self.done("storage: bucket versioned, SSE-KMS with a rotating key, public access blocked, "
                  "TLS required, no archive tiers; job table keyed by job_id, SSE-KMS, PITR")

    # ---- metrics ----------------------------------------------------------------------

    def published_metrics(self):
        """Namespace and metric names rewind publishes (crates/aws/src/metric_names.rs and each
        crate's metrics.rs)."""
        with open(os.path.join(self.root, "crates/aws/src/metric_names.rs"), encoding="utf-8") as f:
            namespace = re.search(r'pub const NAMESPACE: &str = "([^"]+)"', f.read()).group(1)
        names = set()
        for dirpath, _, files in os.walk(os.path.join(self.root, "crates")):
            if "metrics.rs" in files:
                with open(os.path.join(dirpath, "metrics.rs"), encoding="utf-8") as f:
                    names.update(re.findall(r'pub const [A-Z_]+: &str = "([A-Za-z]+)";', f.read()))
        return namespace, names

    def check_metrics(self):
        namespace, names = self.published_metrics()
        used = []
        for name, a in self.of_type("AWS::CloudWatch::Alarm").items():
            p = a["Properties"]
            if not p.get("AlarmActions"):
                self.fail(f"alarm {name} notifies no one (AlarmActions)")
            if p.get("Namespace") == namespace:
                used.append((f"alarm {name}", p.get("MetricName")))
        for name, d in self.of_type("AWS::CloudWatch::Dashboard").items():
            body = d["Properties"]["DashboardBody"]
            text = body["Fn::Sub"][0] if isinstance(body, dict) and isinstance(body.get("Fn::Sub"), list) \
                else self.text(body)
            try:
                dash = json.loads(re.sub(r"\$\{[^}]+\}", "1", text))
            except ValueError as e:
                self.fail(f"dashboard {name}: not JSON once substituted: {e}")
                continue
            for w in dash.get("widgets", []):
                for m in w.get("properties", {}).get("metrics", []):
                    if m and m[0] == namespace:
                        used.append((f"dashboard {name} widget {w['properties'].get('title')!r}", m[1]))
        for where, metric in used:
            if metric not in names:
                self.fail(f"{where}: metric {namespace}/{metric} is not one rewind publishes "
                          f"({sorted(names)})")
        self.done(f"metrics: {len(used)} alarm and dashboard references to {namespace} metrics "
                  "name metrics the Rust code publishes; every alarm notifies")

    def run(self):
        for check in (self.check_iam, self.check_capture_mapping, self.check_functions,
                      self.check_state_machines, self.check_schedules, self.check_storage,
                      self.check_metrics):
            try:
                check()
            except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
                self.fail(f"{check.__name__}: the template is not shaped as expected: {e!r}")
        return self.findings


# ---- self-test: each break must be found -----------------------------------------------

def _esm(cfn):
    return next(r for r in cfn["Resources"].values() if r["Type"] == "AWS::Lambda::EventSourceMapping")


def _stmt(cfn, role, sid):
    for pol in cfn["Resources"][role]["Properties"]["Policies"]:
        for st in pol["PolicyDocument"]["Statement"]:
            if st.get("Sid") == sid:
                return st
    raise KeyError((role, sid))


def _task(cfn, machine, state):
    props = cfn["Resources"][machine]["Properties"]
    if "Definition" not in props:
        props["Definition"] = Checker.definition(props)
        del props["DefinitionString"]
    return props["Definition"]["States"][state]


BREAKS = {
    "ParallelizationFactor 2": lambda raw, cfn: _esm(cfn)["Properties"].update(ParallelizationFactor=2),
    "no tumbling window": lambda raw, cfn: _esm(cfn)["Properties"].pop("TumblingWindowInSeconds"),
    "LATEST": lambda raw, cfn: _esm(cfn)["Properties"].update(StartingPosition="LATEST"),
    "bounded retries": lambda raw, cfn: _esm(cfn)["Properties"].update(MaximumRetryAttempts=10000),
    "no ReportBatchItemFailures": lambda raw, cfn: _esm(cfn)["Properties"].update(FunctionResponseTypes=[]),
    "a '*' resource": lambda raw, cfn: _stmt(cfn, "WorkerRole", "StoreObjects").update(Resource="*"),
    "a bucket-wide S3 ARN": lambda raw, cfn: _stmt(cfn, "CaptureRole", "StoreObjects").update(
        Resource="arn:aws:s3:::*"),
    "a service-wide action": lambda raw, cfn: _stmt(cfn, "ApiRole", "JobCatalog").update(Action="dynamodb:*"),
    "metrics without the namespace condition": lambda raw, cfn: _stmt(cfn, "CaptureRole", "Metrics").pop("Condition"),
    "a missing binary": lambda raw, cfn: raw["Resources"]["WorkerFunction"]["Metadata"]["BuildProperties"].update(
        Binary="rewind-no-such-lambda"),
    "an AWS managed policy": lambda raw, cfn: cfn["Resources"]["CaptureRole"]["Properties"].setdefault(
        "ManagedPolicyArns", []).append("arn:aws:iam::aws:policy/AmazonS3FullAccess"),
    "a misspelt variable": lambda raw, cfn: cfn["Resources"]["ApiFunction"]["Properties"]["Environment"][
        "Variables"].update(REWIND_JOBS_TABLE="x"),
    "a payload field the worker does not know": lambda raw, cfn: _task(cfn, "RestoreStateMachine", "Plan")[
        "Parameters"]["Payload"].update(table="T"),
    "a payload without its job": lambda raw, cfn: _task(cfn, "BackupStateMachine", "Commit")[
        "Parameters"]["Payload"].pop("run_id.$"),
    "no Rewind.Retryable retry": lambda raw, cfn: _task(cfn, "RestoreStateMachine", "Commit")["Retry"].pop(),
    "no Catch": lambda raw, cfn: _task(cfn, "BackupStateMachine", "Commit").pop("Catch"),
    "an unused substitution": lambda raw, cfn: cfn["Resources"]["BackupStateMachine"]["Properties"][
        "DefinitionSubstitutions"].update(Unused="x"),
    "DEEP_ARCHIVE": lambda raw, cfn: cfn["Resources"]["BackupBucket"]["Properties"]["LifecycleConfiguration"][
        "Rules"][0]["Transitions"].append({"StorageClass": "DEEP_ARCHIVE", "TransitionInDays": 180}),
    "no scrub schedule": lambda raw, cfn: [
        t.update(Input="{}") for r in cfn["Resources"].values() if r["Type"] == "AWS::Events::Rule"
        for t in r["Properties"]["Targets"] if "check" in json.dumps(t.get("Input", ""))],
    "a metric rewind does not publish": lambda raw, cfn: cfn["Resources"]["CaptureLagAlarm"]["Properties"].update(
        MetricName="CaptureLag"),
    "no point-in-time recovery": lambda raw, cfn: cfn["Resources"]["JobTable"]["Properties"].pop(
        "PointInTimeRecoverySpecification"),
}


# The finding a break must produce, where another finding could come first.
EXPECT = {"a missing binary": "does not exist"}


def self_test(raw, cfn):
    """Applies each break to a copy; a break is caught when it adds a finding."""
    baseline = set(Checker(copy.deepcopy(raw), copy.deepcopy(cfn)).run())
    missed = []
    for what, brk in BREAKS.items():
        r, c = copy.deepcopy(raw), copy.deepcopy(cfn)
        brk(r, c)
        found = [f for f in Checker(r, c).run() if f not in baseline]
        want = EXPECT.get(what, "")
        hit = next((f for f in found if want in f), None)
        print(f"  break: {what:42} -> {hit or 'NOT CAUGHT'}")
        if hit is None:
            missed.append(what)
    return missed


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 2:
        raise SystemExit(__doc__)
    raw = load(args[0])
    with open(args[1], encoding="utf-8") as f:
        cfn = json.load(f)
    checker = Checker(raw, cfn)
    findings = checker.run()
    for line in checker.checked:
        print(f"  ok: {line}")
    for (owner, sid), why in sorted(EXCEPTIONS.items()):
        print(f"  exception: {owner}/{sid}: {why}")
    for (owner, policy), why in sorted(MANAGED_POLICY_EXCEPTIONS.items()):
        print(f"  exception: {owner} managed policy {policy}: {why}")
    for f in findings:
        print(f"  FINDING: {f}")
    status = 0
    if findings:
        print(f"check_template: {len(findings)} finding(s)")
        status = 1
    if "--self-test" in sys.argv:
        print("self-test: each break below must be found")
        missed = self_test(raw, cfn)
        if missed:
            print(f"check_template self-test: not caught: {missed}")
            status = 1
        else:
            print(f"self-test: all {len(BREAKS)} breaks caught")
    sys.exit(status)


if __name__ == "__main__":
    main()
