"""CloudFormation and SAM templates, resolved as CloudFormation would before it creates a table.

Only what a table needs is constructed and evaluated: ``Parameters``, ``Mappings``, ``Conditions`` and the
``Properties``/``Metadata``/``Condition`` of each ``AWS::DynamoDB::Table``, ``AWS::DynamoDB::GlobalTable`` (created
as one table in the endpoint's region, see :func:`global_table_request`) and SAM ``SimpleTable``. Every other
resource is looked at for its ``Type`` alone, straight from the composed YAML nodes, so nothing in it (a YAML
alias bomb, an unknown tag) can make reading slow or large.

Intrinsics: ``Ref``, ``Fn::Sub`` (both forms), ``Fn::Join``, ``Fn::Select``, ``Fn::Split``, ``Fn::If``,
``Fn::Equals``, ``Fn::And``, ``Fn::Or``, ``Fn::Not``, ``Condition``, ``Fn::FindInMap``, ``Fn::Base64``, in the long
(``{"Fn::Join": …}``) and short (``!Join``) forms. What only a deployment knows (``Fn::GetAtt``, ``Fn::ImportValue``,
a ``Ref`` to another resource) is an error naming the intrinsic and where it is — except inside a property the
engine cannot keep anyway (:data:`SOFT_PROPERTIES`: a KMS key in ``SSESpecification``, a Kinesis stream in
``KinesisStreamSpecification``, a replica's settings…): there the value is left out and reported as not applied,
and the rest of the template loads.

Parameters: a value from ``--parameter-overrides``, else the ``Default``. An SSM-typed parameter
(``AWS::SSM::Parameter::Value<…>``, e.g. a CDK template's ``BootstrapVersion``) is looked up only when a table uses
it (``Context.ssm``; without one it is an error asking for an override). Pseudo parameters may be overridden too
(``--parameter-overrides AWS::AccountId=123456789012``).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cruddur_ops.errors import SchemaError
from cruddur_ops.io import yamlfile

TABLE_TYPES = ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable", "AWS::Serverless::SimpleTable")
# Where a value known only after deploying (Fn::GetAtt, a Ref to a resource) is left out and reported, not fatal:
# properties DynamoDB Local cannot keep, or that cruddur does not apply (relative to the resource's Properties).
SOFT_PROPERTIES = ("SSESpecification", "KinesisStreamSpecification", "ContributorInsightsSpecification",
                   "ResourcePolicy", "ImportSourceSpecification")
SOFT_REPLICA_PROPERTIES = SOFT_PROPERTIES + ("ReplicaStreamSpecification", "Tags")
PSEUDO_OVERRIDABLE = ("AWS::AccountId", "AWS::Region", "AWS::Partition", "AWS::URLSuffix", "AWS::StackName")
# The most values one table's properties may expand to (aliases included) before reading stops.
MAX_VALUES = 100_000
# The most characters the strings one table's properties resolve to may hold, all together (Fn::Sub, Fn::Join,
# Fn::Base64 and parameters count as they are built): a nested Fn::Sub grows geometrically with few nodes.
MAX_CHARS = 1_000_000
MAX_DEPTH = 200  # nesting of values and intrinsics (a FindInMap that refers to itself, deep JSON)
MAX_PARAMETER = 4096  # CloudFormation's own limit on a parameter value
PATTERN_SECONDS = 1.0  # AllowedPattern is matched with this time limit (a backtracking pattern cannot hang)
DEPLOY_ONLY = ("Fn::GetAtt", "Fn::ImportValue", "Fn::GetAZs", "Fn::Cidr", "Fn::Transform")
SUPPORTED = ("Ref", "Fn::Sub", "Fn::Join", "Fn::Select", "Fn::Split", "Fn::If", "Fn::Equals", "Fn::And",
             "Fn::Or", "Fn::Not", "Fn::FindInMap", "Fn::Base64", "Condition")
NO_VALUE = object()  # AWS::NoValue: the property (or list item) is removed

_CFN_LOADER = None


def loader():
    """A safe loader that reads CloudFormation's short tags (``!Ref x`` -> ``{"Ref": "x"}``,
    ``!GetAtt A.B`` -> ``{"Fn::GetAtt": ["A", "B"]}``, ``!Condition X`` -> ``{"Condition": "X"}``)."""
    global _CFN_LOADER
    if _CFN_LOADER is None:
        import yaml

        class CloudFormationLoader(yamlfile._loader()):  # type: ignore[misc]  # a class made at run time
            pass

        def construct(loader, suffix, node):
            if isinstance(node, yaml.ScalarNode):
                value = loader.construct_scalar(node)
            elif isinstance(node, yaml.SequenceNode):
                value = loader.construct_sequence(node, deep=True)
            else:
                value = loader.construct_mapping(node, deep=True)
            if suffix == "GetAtt" and isinstance(value, str):
                value = value.split(".", 1)
            key = "Ref" if suffix == "Ref" else "Condition" if suffix == "Condition" else f"Fn::{suffix}"
            return {key: value}

        CloudFormationLoader.add_multi_constructor("!", construct)
        _CFN_LOADER = CloudFormationLoader
    return _CFN_LOADER


@dataclass
class Context:
    """What the pseudo parameters and parameter values are for this read."""

    parameters: dict[str, str] = field(default_factory=dict)  # --parameter-overrides KEY=VALUE
    stack_name: str | None = None  # default: the template file's stem
    region: str = "us-east-1"
    account_id: Any = "000000000000"  # or a callable asked only when a template uses AWS::AccountId
    partition: str = "aws"
    url_suffix: str = "amazonaws.com"
    ssm: Any = None  # a callable name -> value, asked only when a table uses an SSM-typed parameter


@dataclass
class TableResource:
    logical_id: str
    kind: str
    properties: dict  # resolved and with AWS::NoValue removed
    keypath: list  # of the Properties in the file
    patterns: Any = None  # Metadata.AccessPatterns, as written
    named_by_logical_id: bool = False
    not_applied: list[str] = field(default_factory=list)  # values left out: known only after deploying


@dataclass
class Template:
    tables: list[TableResource]
    ignored: int  # other resources
    skipped: list[str]  # tables whose Condition is false
    parameters: dict[str, Any]  # the values used
    region: str = "us-east-1"  # AWS::Region as read (the endpoint's, or an override)


def is_template(doc_node) -> bool:
    import yaml

    return isinstance(doc_node, yaml.MappingNode) and any(
        isinstance(k, yaml.ScalarNode) and k.value == "Resources" for k, _ in doc_node.value)


def compose(text: str, path: Path):
    """The YAML node tree of a file read with the CloudFormation loader, and the loader to construct parts of it."""
    ldr = loader()(text)
    return ldr, ldr.get_single_node()


def _child(node, key: str):
    import yaml

    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


def read_template(ldr, root, path: Path, ctx: Context) -> Template:
    """Resolve a template's tables; raise SchemaError naming file, line and property on the first problem."""
    import yaml

    def fail(kp, message):
        where = yamlfile.dotted(kp)
        raise SchemaError(f"{where}: {message}" if where else message, path=path, line=yamlfile.line_of(path, kp))

    def build(node, kp):
        if node is None:
            return None
        try:
            return ldr.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else yamlfile.line_of(path, kp)
            raise SchemaError(f"{yamlfile.dotted(kp)}: {getattr(exc, 'problem', None) or exc}", path=path,
                              line=line) from None

    resources = _child(root, "Resources")
    if not isinstance(resources, yaml.MappingNode):
        fail(["Resources"], "expected a mapping of resources")
    tables_nodes, ignored, logical_ids = [], 0, []
    for key_node, res_node in resources.value:
        logical_id = key_node.value
        logical_ids.append(logical_id)
        type_node = _child(res_node, "Type")
        kind = type_node.value if isinstance(type_node, yaml.ScalarNode) else None
        if kind in TABLE_TYPES:
            tables_nodes.append((logical_id, kind, res_node))
        else:
            ignored += 1

    overrides = {k: v for k, v in ctx.parameters.items() if not k.startswith("AWS::")}
    pseudo_given = {k: v for k, v in ctx.parameters.items() if k.startswith("AWS::")}
    for name in pseudo_given:
        if name not in PSEUDO_OVERRIDABLE:
            raise SchemaError(f"--parameter-overrides: {name} cannot be set (pseudo parameters that can: "
                              f"{', '.join(PSEUDO_OVERRIDABLE)})", path=path)
    stack = pseudo_given.get("AWS::StackName") or ctx.stack_name or path.stem
    region = pseudo_given.get("AWS::Region") or ctx.region
    account = pseudo_given.get("AWS::AccountId") or ctx.account_id

    def account_id():
        nonlocal account
        if callable(account):
            account = account()
        return account

    partition = pseudo_given.get("AWS::Partition") or ctx.partition
    pseudo = {"AWS::StackName": stack, "AWS::Region": region, "AWS::AccountId": account_id,
              "AWS::Partition": partition, "AWS::URLSuffix": pseudo_given.get("AWS::URLSuffix") or ctx.url_suffix,
              "AWS::StackId": lambda: f"arn:{partition}:cloudformation:{region}:{account_id()}:stack/"
                                      f"{stack}/00000000-0000-0000-0000-000000000000",
              "AWS::NotificationARNs": []}
    params = _parameters(build(_child(root, "Parameters"), ["Parameters"]) or {}, overrides, path, fail, ctx.ssm)
    mappings = build(_child(root, "Mappings"), ["Mappings"]) or {}
    conditions_raw = build(_child(root, "Conditions"), ["Conditions"]) or {}
    if not isinstance(mappings, dict):
        fail(["Mappings"], "expected a mapping")
    if not isinstance(conditions_raw, dict):
        fail(["Conditions"], "expected a mapping of conditions")
    resolver = _Resolver(path, fail, params, pseudo, mappings, conditions_raw, set(logical_ids))

    tables, skipped = [], []
    for logical_id, kind, res_node in tables_nodes:
        kp = ["Resources", logical_id]
        condition = build(_child(res_node, "Condition"), kp + ["Condition"])
        if condition is not None:
            if not isinstance(condition, str):
                fail(kp + ["Condition"], "expected the name of a condition")
            if not resolver.condition(condition, kp + ["Condition"]):
                skipped.append(logical_id)
                continue
        props = build(_child(res_node, "Properties"), kp + ["Properties"]) or {}
        if not isinstance(props, dict):
            fail(kp + ["Properties"], "expected a mapping of properties")
        resolver.budget, resolver.chars = MAX_VALUES, MAX_CHARS
        resolver.dropped = []
        resolved = resolver.value(props, kp + ["Properties"])
        metadata = build(_child(res_node, "Metadata"), kp + ["Metadata"])
        patterns = metadata.get("AccessPatterns") if isinstance(metadata, dict) else None
        unnamed = "TableName" not in resolved
        tables.append(TableResource(logical_id, kind, resolved, kp + ["Properties"], patterns, unnamed,
                                    list(resolver.dropped)))
    return Template(tables, ignored, skipped, {k: v for k, v in params.items() if not isinstance(v, _Lazy)}, region)


# --- parameters ------------------------------------------------------------------------------------------
def _text(value: Any) -> str:
    """A template scalar as CloudFormation sees it: text (``false`` -> ``"false"``, ``5`` -> ``"5"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _Lazy:
    """A parameter whose value is fetched only when a table uses it (an SSM-typed parameter)."""

    def __init__(self, fetch):
        self.fetch = fetch


def _parameters(declared: Any, overrides: dict[str, str], path: Path, fail, ssm=None) -> dict[str, Any]:
    if not isinstance(declared, dict):
        fail(["Parameters"], "expected a mapping of parameters")
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise SchemaError(f"--parameter-overrides: the template has no parameter '{unknown[0]}' "
                          f"(it declares: {', '.join(declared) or 'none'})", path=path)
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        kp = ["Parameters", name]
        if not isinstance(spec, dict):
            fail(kp, "expected a mapping with Type (and Default)")
        kind = _text(spec.get("Type", "String"))
        if name in overrides:
            raw, source = overrides[name], "--parameter-overrides"
        elif "Default" in spec:
            raw, source = spec["Default"], "Default"
        else:
            fail(kp, f"parameter '{name}' has no Default and no value; pass --parameter-overrides {name}=VALUE")
        if isinstance(raw, list):
            raw = ",".join(_text(v) for v in raw)
        if isinstance(raw, dict):
            fail(kp + ["Default"], f"parameter '{name}': a value must be text, not a mapping")
        text = _text(raw)
        if len(text) > MAX_PARAMETER:
            fail(kp, f"parameter '{name}' ({source}): {len(text):,} characters; CloudFormation takes at most "
                     f"{MAX_PARAMETER:,}")
        where = f"parameter '{name}' ({source} {text!r})"
        if kind.startswith("AWS::SSM::Parameter::Value") and source == "Default":
            values[name] = _Lazy(_ssm_fetch(name, kind, text, kp, fail, ssm))  # asked only if a table uses it
            continue
        if kind in ("Number",):
            items = [text]
        elif kind in ("CommaDelimitedList", "List<Number>") or kind.startswith("List<"):
            items = [p.strip() for p in text.split(",")] if text else []
        else:
            items = [text]
        for item in items:
            if kind in ("Number", "List<Number>") and not _is_number(item):
                fail(kp, f"{where}: {item!r} is not a number (Type {kind})")
            allowed = spec.get("AllowedValues")
            if allowed is not None and item not in [_text(a) for a in allowed]:
                fail(kp, f"{where}: {item!r} is not one of AllowedValues {[_text(a) for a in allowed]}")
            pattern = spec.get("AllowedPattern")
            if pattern is not None and kind == "String" and not _matches(_text(pattern), item, kp, fail):
                fail(kp, f"{where}: does not match AllowedPattern {_text(pattern)!r}")
            for bound, ok in (("MinValue", lambda v, b: v >= b), ("MaxValue", lambda v, b: v <= b)):
                if bound in spec and kind in ("Number", "List<Number>") and not ok(float(item), float(spec[bound])):
                    fail(kp, f"{where}: {item} is {'below' if bound == 'MinValue' else 'above'} {bound} {_text(spec[bound])}")
            for bound, ok in (("MinLength", lambda v, b: v >= b), ("MaxLength", lambda v, b: v <= b)):
                if bound in spec and kind == "String" and not ok(len(item), int(spec[bound])):
                    fail(kp, f"{where}: its length {len(item)} breaks {bound} {_text(spec[bound])}")
        values[name] = items if kind.startswith("List<") or kind == "CommaDelimitedList" else text
    return values


def _ssm_fetch(name: str, kind: str, ssm_name: str, kp, fail, ssm):
    def fetch():
        if ssm is None:
            fail(kp, f"parameter '{name}' of Type {kind} is read from SSM ('{ssm_name}') at deploy time and a table "
                     f"uses it; pass --parameter-overrides {name}=VALUE")
        try:
            value = ssm(ssm_name)
        except SchemaError:
            raise
        except Exception as exc:  # noqa: BLE001 — any failed lookup is this parameter's error, one line
            fail(kp, f"parameter '{name}': the SSM lookup of '{ssm_name}' failed ({exc}); "
                     f"pass --parameter-overrides {name}=VALUE")
        return [p.strip() for p in value.split(",")] if "List<" in kind else value

    return fetch


class _Unknowable(Exception):
    """A value only a deployment knows, inside a property that can be left out (:data:`SOFT_PROPERTIES`)."""


def _matches(pattern: str, text: str, kp, fail) -> bool:
    """``AllowedPattern`` matched in at most PATTERN_SECONDS (the ``regex`` module's timeout)."""
    import regex

    try:
        return regex.fullmatch(pattern, text, timeout=PATTERN_SECONDS) is not None
    except regex.error as exc:
        fail(kp + ["AllowedPattern"], f"AllowedPattern {pattern!r} is not a regular expression: {exc}")
    except TimeoutError:
        fail(kp + ["AllowedPattern"], f"AllowedPattern {pattern!r} takes more than {PATTERN_SECONDS:g} s on "
                                      f"{len(text):,} characters (a pattern that backtracks without end)")
    return False


# --- intrinsics ------------------------------------------------------------------------------------------
_SUB_VAR = re.compile(r"\$\{([^}]*)\}")


class _Resolver:
    def __init__(self, path, fail, params, pseudo, mappings, conditions, resources):
        self.path, self.fail = path, fail
        self.params, self.pseudo, self.mappings = params, pseudo, mappings
        self.conditions_raw, self.conditions = conditions, {}
        self.resources = resources
        self.budget = MAX_VALUES
        self.dropped: list[str] = []  # "Properties path (why)" of values left out
        self.chars = MAX_CHARS
        self.depth = 0

    @staticmethod
    def _soft(kp) -> bool:
        """Whether ``kp`` lies inside a property that may be left out (see :data:`SOFT_PROPERTIES`)."""
        if len(kp) < 4 or kp[0] != "Resources" or kp[2] != "Properties":
            return False
        rel = kp[3:]
        if rel[0] in SOFT_PROPERTIES:
            return True
        return rel[0] == "Replicas" and len(rel) >= 3 and rel[2] in SOFT_REPLICA_PROPERTIES

    def unknowable(self, kp, message: str):
        """Only a deployment knows this value: leave it out where that is allowed, else the error."""
        if self._soft(kp):
            raise _Unknowable(message)
        self.fail(kp, message)

    def _charge(self, size: int, kp) -> None:
        """Count ``size`` characters about to be built against the table's MAX_CHARS (before building them)."""
        self.chars -= size
        if self.chars < 0:
            self.fail(kp, f"the strings of one table's properties resolve to more than {MAX_CHARS:,} characters "
                          "(nested Fn::Sub or Fn::Join of large values?)")

    def _spend(self, kp):
        self.budget -= 1
        if self.budget < 0:
            self.fail(kp, f"more than {MAX_VALUES:,} values in one table's properties (a YAML alias bomb?)")

    def condition(self, name: str, kp) -> bool:
        if name not in self.conditions:
            if name not in self.conditions_raw:
                self.fail(kp, f"unknown condition '{name}' (Conditions declares: {', '.join(self.conditions_raw) or 'none'})")
            self.conditions[name] = None  # in progress: a cycle
            value = self._bool(self.conditions_raw[name], ["Conditions", name])
            self.conditions[name] = value
        if self.conditions[name] is None:
            self.fail(kp, f"condition '{name}' refers to itself")
        return self.conditions[name]

    def _bool(self, value, kp) -> bool:
        if isinstance(value, dict) and len(value) == 1 and "Condition" in value:
            name = value["Condition"]
            if not isinstance(name, str):
                self.fail(kp, "Condition: expected a condition name")
            return self.condition(name, kp + ["Condition"])
        if isinstance(value, dict) and len(value) == 1:
            (fn, args), = value.items()
            if fn in ("Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not"):
                return self._condition_fn(fn, args, kp + [fn])
        resolved = self.value(value, kp)
        if isinstance(resolved, bool):
            return resolved
        if _text(resolved).lower() in ("true", "false"):
            return _text(resolved).lower() == "true"
        self.fail(kp, f"expected a condition (Fn::Equals, Fn::And, Fn::Or, Fn::Not, Condition), got {resolved!r}")
        raise AssertionError("unreachable")  # fail() raises

    def _condition_fn(self, fn, args, kp) -> bool:
        if fn == "Fn::Equals":
            if not isinstance(args, list) or len(args) != 2:
                self.fail(kp, "Fn::Equals takes [value, value]")
            a, b = (self.value(x, kp + [i]) for i, x in enumerate(args))
            return _text(a) == _text(b) if not (isinstance(a, list) or isinstance(b, list)) else a == b
        if fn == "Fn::Not":
            if not isinstance(args, list) or len(args) != 1:
                self.fail(kp, "Fn::Not takes [condition]")
            return not self._bool(args[0], kp + [0])
        if not isinstance(args, list) or not 2 <= len(args) <= 10:
            self.fail(kp, f"{fn} takes a list of 2 to 10 conditions")
        results = (self._bool(x, kp + [i]) for i, x in enumerate(args))
        return all(results) if fn == "Fn::And" else any(results)

    def value(self, value, kp):
        self._spend(kp)
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                self.fail(kp[:12], f"values nested more than {MAX_DEPTH} levels deep "
                                   "(an Fn::FindInMap that leads back to itself?)")
            return self._value(value, kp)
        finally:
            self.depth -= 1

    def _value(self, value, kp):
        if isinstance(value, dict):
            if len(value) == 1:
                (key, args), = value.items()
                if key == "Ref" or (isinstance(key, str) and key.startswith("Fn::")):
                    return self._intrinsic(key, args, kp)
            out = {}
            for k, v in value.items():
                try:
                    resolved = self.value(v, kp + [k])
                except _Unknowable as exc:
                    if not self._soft(kp + [k]):
                        raise
                    self.dropped.append(f"{yamlfile.dotted(kp[3:] + [k])} ({str(exc).split(';')[0]})")
                    continue
                if resolved is not NO_VALUE:
                    out[k] = resolved
            return out
        if isinstance(value, list):
            out_list = []
            for i, v in enumerate(value):
                resolved = self.value(v, kp + [i])
                if resolved is not NO_VALUE:
                    out_list.append(resolved)
            return out_list
        return value

    def _ref(self, name, kp, fn="Ref"):
        if not isinstance(name, str):
            self.fail(kp, f"{fn}: expected a name, got {name!r}")
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.params:
            value = self.params[name]
            if isinstance(value, _Lazy):
                value = self.params[name] = value.fetch()
            return value
        if name in self.pseudo:
            value = self.pseudo[name]
            if callable(value):
                value = self.pseudo[name] = value()
            return value
        if name in self.resources:
            self.unknowable(kp, f"{fn} to resource '{name}' cannot be known without deploying the stack; "
                                "write the value itself or use a Parameter")
        self.fail(kp, f"{fn}: '{name}' is neither a parameter nor a pseudo parameter")

    def _intrinsic(self, fn, args, kp):
        here = kp + [fn]
        prop = yamlfile.dotted(kp[3:]) or "the table"
        if fn in DEPLOY_ONLY:
            what = f" {'.'.join(map(str, args))}" if fn == "Fn::GetAtt" and isinstance(args, list) else ""
            self.unknowable(kp, f"{fn}{what} in {prop} cannot be known without deploying the stack; "
                                "write the value itself or use a Parameter")
        if fn == "Ref":
            return self._ref(args, kp)
        if fn == "Fn::Sub":
            return self._sub(args, kp)
        if fn == "Fn::If":
            if not isinstance(args, list) or len(args) != 3 or not isinstance(args[0], str):
                self.fail(kp, "Fn::If takes [condition name, value if true, value if false]")
            chosen = 1 if self.condition(args[0], here + [0]) else 2
            return self.value(args[chosen], here + [chosen])
        if fn in ("Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not"):
            return self._condition_fn(fn, args, here)
        if fn not in SUPPORTED:
            self.fail(kp, f"{fn} is not an intrinsic cruddur resolves (it resolves: {', '.join(SUPPORTED)})")
        args = self.value(args, here)
        if fn == "Fn::Join":
            if not isinstance(args, list) or len(args) != 2 or not isinstance(args[1], list):
                self.fail(kp, "Fn::Join takes [delimiter, [values]]")
            if any(isinstance(v, (list, dict)) for v in args[1]):
                self.fail(kp, "Fn::Join: every value must be text")
            parts = [_text(v) for v in args[1]]
            self._charge(sum(map(len, parts)) + len(_text(args[0])) * max(0, len(parts) - 1), kp)
            return _text(args[0]).join(parts)
        if fn == "Fn::Select":
            if not isinstance(args, list) or len(args) != 2 or not isinstance(args[1], list):
                self.fail(kp, "Fn::Select takes [index, [values]]")
            try:
                index = int(_text(args[0]))
                return args[1][index] if index >= 0 else self.fail(kp, "Fn::Select: the index must be ≥ 0")
            except (ValueError, IndexError):
                self.fail(kp, f"Fn::Select: index {args[0]!r} is not within the {len(args[1])} values")
        if fn == "Fn::Split":
            if not isinstance(args, list) or len(args) != 2 or isinstance(args[1], (list, dict)):
                self.fail(kp, "Fn::Split takes [delimiter, text]")
            if not _text(args[0]):
                self.fail(kp, "Fn::Split: the delimiter is empty")
            return _text(args[1]).split(_text(args[0]))
        if fn == "Fn::FindInMap":
            if not isinstance(args, list) or len(args) not in (3, 4):
                self.fail(kp, "Fn::FindInMap takes [map, top-level key, second-level key]")
            name, top, second = (_text(a) for a in args[:3])
            found = self.mappings.get(name)
            if not isinstance(found, dict):
                self.fail(kp, f"Fn::FindInMap: no mapping '{name}' in Mappings")
            found = found.get(top)
            if not isinstance(found, dict) or second not in found:
                if len(args) == 4 and isinstance(args[3], dict) and "DefaultValue" in args[3]:
                    return args[3]["DefaultValue"]
                self.fail(kp, f"Fn::FindInMap: mapping '{name}' has no {top}.{second}")
            return self.value(found[second], ["Mappings", name, top, second])
        if fn == "Fn::Base64":
            if isinstance(args, (list, dict)):
                self.fail(kp, "Fn::Base64 takes text")
            self._charge(len(_text(args)) * 2, kp)
            return base64.b64encode(_text(args).encode("utf-8", "surrogatepass")).decode()
        if fn == "Condition":
            return self.condition(args, kp)
        self.fail(kp, f"{fn} is not supported")  # pragma: no cover
        return None

    def _sub(self, args, kp):
        if isinstance(args, str):
            text, variables = args, {}
        elif isinstance(args, list) and len(args) == 2 and isinstance(args[0], str) and isinstance(args[1], dict):
            text = args[0]
            variables = {k: self.value(v, kp + [1, k]) for k, v in args[1].items()}
        else:
            self.fail(kp, "Fn::Sub takes text, or [text, {name: value}]")

        def replace(match):
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                value = variables[name]
            elif "." in name and not name.startswith("AWS::"):
                self.unknowable(kp, f"Fn::Sub ${{{name}}} is an attribute (Fn::GetAtt) that cannot be known without "
                                    "deploying the stack")
            else:
                value = self._ref(name, kp, "Fn::Sub")
            parts = [_text(v) for v in value] if isinstance(value, list) else [_text(value)]
            self._charge(sum(map(len, parts)) + len(parts), kp)  # before the text is built
            return ",".join(parts)

        self._charge(len(text), kp)
        return _SUB_VAR.sub(replace, text)


# --- translating properties to CreateTable ----------------------------------------------------------------
# Properties of AWS::DynamoDB::Table that CreateTable does not take; cruddur applies them by other calls (TTL,
# PITR, contributor insights) or names them as not applied.
EXTRA_PROPERTIES = ("TimeToLiveSpecification", "PointInTimeRecoverySpecification",
                    "ContributorInsightsSpecification", "KinesisStreamSpecification", "ImportSourceSpecification")


def table_request(props: dict, logical_id: str) -> tuple[dict, dict]:
    """(CreateTable request, the other properties) of an ``AWS::DynamoDB::Table`` resource's resolved properties."""
    import json

    request = {k: v for k, v in props.items() if k not in EXTRA_PROPERTIES}
    extras = {k: v for k, v in props.items() if k in EXTRA_PROPERTIES}
    request.setdefault("TableName", logical_id)
    stream = request.get("StreamSpecification")
    if isinstance(stream, dict):
        stream = {k: v for k, v in stream.items() if k != "ResourcePolicy"}
        request["StreamSpecification"] = {"StreamEnabled": True, **stream} if "StreamEnabled" not in stream else stream
    sse = request.get("SSESpecification")
    if isinstance(sse, dict) and "SSEEnabled" in sse:
        request["SSESpecification"] = {("Enabled" if k == "SSEEnabled" else k): v for k, v in sse.items()}
    policy = request.get("ResourcePolicy")
    if isinstance(policy, dict) and "PolicyDocument" in policy:
        document = policy["PolicyDocument"]
        request["ResourcePolicy"] = document if isinstance(document, str) else json.dumps(document)
    for index in request.get("GlobalSecondaryIndexes") or []:
        if isinstance(index, dict) and "ContributorInsightsSpecification" in index:
            extras.setdefault("IndexContributorInsights", {})[index.get("IndexName")] = \
                index.pop("ContributorInsightsSpecification")
    return request, extras


def simple_table_request(props: dict, logical_id: str) -> dict:
    """The CreateTable request of an ``AWS::Serverless::SimpleTable`` resource's properties."""
    key = props.get("PrimaryKey") or {"Name": "id", "Type": "String"}
    kinds: dict[Any, str] = {"String": "S", "Number": "N", "Binary": "B"}
    kind = kinds.get(key.get("Type"), key.get("Type"))
    request = {
        "TableName": props.get("TableName", logical_id),
        "AttributeDefinitions": [{"AttributeName": key.get("Name"), "AttributeType": kind}],
        "KeySchema": [{"AttributeName": key.get("Name"), "KeyType": "HASH"}],
    }
    if props.get("ProvisionedThroughput"):
        request["BillingMode"] = "PROVISIONED"
        request["ProvisionedThroughput"] = props["ProvisionedThroughput"]
    else:
        request["BillingMode"] = "PAY_PER_REQUEST"
    for k in ("SSESpecification", "Tags"):
        if k in props:
            request[k] = props[k]
    if isinstance(request.get("Tags"), dict):
        request["Tags"] = [{"Key": k, "Value": v} for k, v in request["Tags"].items()]
    if isinstance(request.get("SSESpecification"), dict) and "SSEEnabled" in request["SSESpecification"]:
        request["SSESpecification"] = {"Enabled": request["SSESpecification"]["SSEEnabled"]}
    return request


# --- AWS::DynamoDB::GlobalTable ---------------------------------------------------------------------------
def _capacity(settings: Any, key: str) -> Any:
    """Capacity units from ``{key: n}`` or auto scaling's ``{…AutoScalingSettings: {MinCapacity, SeedCapacity}}``."""
    if not isinstance(settings, dict):
        return None
    if key in settings:
        return settings[key]
    for name, value in settings.items():
        if name.endswith("AutoScalingSettings") and isinstance(value, dict):
            return value.get("SeedCapacity") or value.get("MinCapacity")
    return None


def global_table_request(props: dict, logical_id: str, region: str) -> tuple[dict, dict, list[str]]:
    """(CreateTable request, the other properties, notes) of an ``AWS::DynamoDB::GlobalTable``: the table as it
    would be in ``region`` (the endpoint's), with that replica's settings.

    Mapped from GlobalTable's own schema: ``StreamSpecification: {StreamViewType}`` turns the stream on;
    ``SSESpecification`` takes the replica's ``KMSMasterKeyId``; provisioned capacity is the write settings'
    (and the replica's read settings') fixed units or auto scaling's seed/minimum capacity (auto scaling itself
    is not applied); ``TimeToLiveSpecification``, the replica's ``PointInTimeRecoverySpecification``,
    ``TableClass``, ``DeletionProtectionEnabled`` and ``Tags`` are applied. The other replicas are reported.
    """
    notes: list[str] = []
    extras: dict[str, Any] = {}
    replicas = [r for r in props.get("Replicas") or [] if isinstance(r, dict)]
    here = next((r for r in replicas if r.get("Region") == region), None)
    if here is None and replicas:
        here = replicas[0]
        notes.append(f"GlobalTable: no replica in {region} (the endpoint's region); the settings of the "
                     f"{here.get('Region')} replica are used")
    here = here or {}
    others = [str(r.get("Region")) for r in replicas if r is not here]
    if others:
        extras["Replicas"] = others
        notes.append(f"GlobalTable: created as one table in {region}; replicas in {', '.join(others)} are "
                     "not created")
    request: dict[str, Any] = {"TableName": props.get("TableName", logical_id)}
    for key in ("AttributeDefinitions", "KeySchema", "LocalSecondaryIndexes"):
        if key in props:
            request[key] = props[key]
    billing = props.get("BillingMode", "PROVISIONED")
    request["BillingMode"] = billing
    auto = []
    if billing == "PROVISIONED":
        write = _capacity(props.get("WriteProvisionedThroughputSettings"), "WriteCapacityUnits")
        read = _capacity(here.get("ReadProvisionedThroughputSettings"), "ReadCapacityUnits")
        request["ProvisionedThroughput"] = {"ReadCapacityUnits": read if read is not None else write,
                                            "WriteCapacityUnits": write}
        for name, value in (("WriteProvisionedThroughputSettings", props.get("WriteProvisionedThroughputSettings")),
                            ("ReadProvisionedThroughputSettings", here.get("ReadProvisionedThroughputSettings"))):
            if isinstance(value, dict) and any(k.endswith("AutoScalingSettings") for k in value):
                auto.append(name)
    if "WriteOnDemandThroughputSettings" in props or "ReadOnDemandThroughputSettings" in here:
        demand = {}
        if isinstance(props.get("WriteOnDemandThroughputSettings"), dict):
            demand["MaxWriteRequestUnits"] = props["WriteOnDemandThroughputSettings"].get("MaxWriteRequestUnits")
        if isinstance(here.get("ReadOnDemandThroughputSettings"), dict):
            demand["MaxReadRequestUnits"] = here["ReadOnDemandThroughputSettings"].get("MaxReadRequestUnits")
        request["OnDemandThroughput"] = {k: v for k, v in demand.items() if v is not None}
    replica_gsis = {g.get("IndexName"): g for g in here.get("GlobalSecondaryIndexes") or [] if isinstance(g, dict)}
    gsis = []
    for index in props.get("GlobalSecondaryIndexes") or []:
        if not isinstance(index, dict):
            gsis.append(index)
            continue
        out = {k: index[k] for k in ("IndexName", "KeySchema", "Projection") if k in index}
        mine = replica_gsis.get(index.get("IndexName"), {})
        if billing == "PROVISIONED":
            write = _capacity(index.get("WriteProvisionedThroughputSettings"), "WriteCapacityUnits")
            read = _capacity(mine.get("ReadProvisionedThroughputSettings"), "ReadCapacityUnits")
            out["ProvisionedThroughput"] = {"ReadCapacityUnits": read if read is not None else write,
                                            "WriteCapacityUnits": write}
        if "ContributorInsightsSpecification" in mine:
            extras.setdefault("IndexContributorInsights", {})[index.get("IndexName")] = \
                mine["ContributorInsightsSpecification"]
        gsis.append(out)
    if gsis:
        request["GlobalSecondaryIndexes"] = gsis
    stream = props.get("StreamSpecification")
    if isinstance(stream, dict) and stream.get("StreamViewType"):
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    sse = props.get("SSESpecification")
    if isinstance(sse, dict):
        mapped: dict[str, Any] = {("Enabled" if k == "SSEEnabled" else k): v for k, v in sse.items()}
        kms_key = (here.get("SSESpecification") or {}).get("KMSMasterKeyId")
        if kms_key is not None:
            mapped["KMSMasterKeyId"] = kms_key
        request["SSESpecification"] = mapped
    for key in ("TableClass", "DeletionProtectionEnabled", "Tags"):
        if key in here:
            request[key] = here[key]
    if "TimeToLiveSpecification" in props:
        request["TimeToLiveSpecification"] = props["TimeToLiveSpecification"]
    if "PointInTimeRecoverySpecification" in here:
        request["PointInTimeRecoverySpecification"] = here["PointInTimeRecoverySpecification"]
    if auto:
        notes.append("GlobalTable: auto scaling is not applied; the table gets its seed/minimum capacity")
        extras["AutoScaling"] = auto
    for key in ("ContributorInsightsSpecification", "KinesisStreamSpecification", "ResourcePolicy",
                "ReplicaStreamSpecification"):
        if key in here:
            extras[f"Replicas[{here.get('Region')}].{key}"] = here[key]
    for key in ("GlobalTableWitnesses", "MultiRegionConsistency", "WarmThroughput"):
        if key in props:
            extras[key] = props[key]
    return request, extras, notes
