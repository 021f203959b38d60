"""moto's server with the few corrections stackc's tests need to exercise documented AWS behaviour.

Run: python moto_shim.py PORT [--pace FACTOR] [--throttle RATE]   (binds 127.0.0.1:PORT). Each correction
is listed here, and each is checked on its own by check_shim.py (21-23: check_paced.py), run by
tests/deploy.rs:

1. outputs-after-execute: AWS fills a stack's Outputs and Exports when a change set is executed; moto
   5.2 only does so for CreateStack/UpdateStack. After ExecuteChangeSet we rebuild the stack's outputs from
   its new template and register its exports.
2. imports-in-change-sets: a stack created through a CREATE change set gets no view of the account's
   exports in moto, so Fn::ImportValue fails at execution; we give it the backend's export table.
3. placeholder-resources: resource types moto does not model (CloudFront, CodeBuild, CodePipeline, the SAM
   function, ...) are skipped by moto, and a Ref or GetAtt on them makes moto answer HTTP 500. AWS
   creates them; we create a placeholder with a physical id, and every attribute reads as a placeholder
   string, so templates that use them deploy end to end.
5. create-over-review: a CREATE change set for a stack left in REVIEW_IN_PROGRESS (a create change set
   that was never executed, or whose execution failed before anything was created) reuses that stack in
   AWS; moto adds a second stack of the same name. We drop the empty one first.
6. list-parameters: DescribeStacks returns a CommaDelimitedList parameter as "a,b" in AWS; moto returns the
   Python repr of a list. We join it back.
7. rollback: when a resource fails, AWS's ExecuteChangeSet still succeeds; the stack then fails
   asynchronously, rolls back and ends in ROLLBACK_COMPLETE (a first create) or UPDATE_ROLLBACK_COMPLETE,
   with a *_FAILED event naming the resource and the reason. moto fails the API call itself and leaves the
   stack half-created in REVIEW_IN_PROGRESS. We record the failing resource, delete what the failed create
   made, and leave the stack and its events as AWS does.
8. load-balancer-type: a load balancer created through CloudFormation with `Type: network` is a Network
   Load Balancer in AWS; moto ignores the property and makes an application one, which then refuses the
   TCP and TLS listeners every NLB has. We pass the type on.
9. update-in-place: moto has no update for some resource types (RDS DBInstance among them) and, on an
   update of one, forgets the resource: the stack then answers HTTP 500 on every call ("Fn::GetAtt
   references undefined resource"). AWS updates such a resource in place (a new master password, say). We
   keep the existing resource and apply the new properties to it where moto's model has a matching field.
10. tags-in-change-sets: AWS treats a change of stack tags as an update (a change set with only new tags
   executes and the stack then carries them); moto answers "No updates are to be performed." when the
   template and parameters are the same, and never applies a change set's tags. We let a tag change
   through and apply the tags on execute.
11. drift: moto has no drift detection (DetectStackDrift, DescribeStackDriftDetectionStatus,
   DescribeStackResourceDrifts answer "not implemented"). AWS compares each resource's live properties with
   the template's (parameters resolved), only the properties the template sets. We do the same for the
   types whose live state moto keeps and we can read (SSM parameters, log groups); a resource of those types
   that is gone is DELETED; every other type is NOT_CHECKED, as AWS says of types it cannot check.
12. stack-set-updates: AWS's UpdateStackSet updates every instance's stack to the new template and
   parameters, and instances added later start from the new template; moto changes only the stack set's
   record (instances keep the template and parameters they were created with). We update each instance's
   stack and the template new instances are made from. moto also names an instance's stack
   `StackSet:<name>`, a name AWS never gives (it is `StackSet-<name>-<id>`) and whose colon breaks the
   names of the resources derived from it; we give it AWS's form.
13. stack-set-organizational-units: AWS lists a service-managed instance with the organizational unit it
   was deployed through (OrganizationalUnitId) and deletes instances by DeploymentTargets; moto leaves
   the unit out of ListStackInstances and deletes only by Accounts, so deleting by unit removes nothing.
   We record each instance's unit and resolve units to their accounts on delete.
14. stack-set-drift: moto has no DetectStackSetDrift or ListStackInstanceResourceDrifts. AWS runs drift
   detection on every instance's stack, marks each instance DRIFTED or IN_SYNC (DriftStatus in
   ListStackInstances) and lists each instance's resource drifts. We do the same with correction 11's
   comparison.
15. resource-events: AWS's stack events name every resource step (CREATE_IN_PROGRESS, then
   CREATE_COMPLETE with the physical id; UPDATE_* likewise), in the order the steps happen; moto records
   stack-level events only. During a change set's execution we record each resource's steps as AWS does.
16. paged-events: AWS's DescribeStackEvents answers 100 events a page, newest first, with a NextToken for
   the next page; moto answers every event at once. We page by 100.
17. change-details: AWS's DescribeChangeSet says, for each modified resource, whether it is replaced
   (Replacement True/False/Conditional) and lists Details: each changed property, whether it requires
   recreation (Always for a create-only property of the resource schema, Never otherwise), what caused it
   (DirectModification, or ParameterReference with the parameter) and, with IncludePropertyValues, the
   values before and after (a NoEcho parameter's value as ****). moto gives none of that. We compute them
   from the old and new templates and parameters, with the create-only properties from the resource
   schemas cfn-lint ships in the same venv.
18. termination-protection: AWS's UpdateTerminationProtection turns a stack's termination protection on
   or off (DescribeStacks shows EnableTerminationProtection) and DeleteStack refuses a protected stack
   ("cannot be deleted while TerminationProtection is enabled"); moto has no such action (HTTP 500) and
   never refuses. We implement both.
19. nested-change-sets: with IncludeNestedStacks, AWS's CreateChangeSet also makes a change set for each
   nested stack the change touches, and the parent's DescribeChangeSet names it (ResourceChange.ChangeSetId)
   so its own changes can be described; moto ignores the flag. We make the nested change sets (from the
   new TemplateURL and the nested stack's new parameters) and link them.
20. nested-parent: AWS's DescribeStacks names a nested stack's parent and root (ParentId, RootId); moto
   leaves them out. We record them when a change set's execution creates a nested stack.
21. paced (only with `--pace FACTOR`): AWS takes minutes over some resources and returns from
   ExecuteChangeSet and DeleteStack at once, the stack then CREATE_/UPDATE_/DELETE_IN_PROGRESS until its
   resources are done, and a change set spends a few seconds in CREATE_IN_PROGRESS; moto does all of it
   inside the call. We run executions and deletes in the background, each resource step taking its
   typical AWS time (paced.py's table) times FACTOR, every step an event (correction 15, deletes too), and
   refuse a change set on a stack with an operation in progress as AWS does ("... is in
   UPDATE_IN_PROGRESS state and can not be updated.").
22. throttling (only with `--throttle RATE`): AWS answers `Throttling: Rate exceeded` (HTTP 400) to an
   account that calls one CloudFormation API more than its rate allows; moto never refuses. We keep a
   token bucket of RATE calls a second per API.
23. cancel-update: AWS's CancelUpdateStack stops an update in progress, which then rolls back
   (UPDATE_ROLLBACK_IN_PROGRESS, UPDATE_ROLLBACK_COMPLETE, the resource being updated UPDATE_FAILED
   "Resource update cancelled") and puts the previous template and parameters back; from any other status
   it is refused. moto has no such action. With correction 7, a failed update also puts them back.
24. intrinsics: Fn::Cidr (moto has none), Fn::GetAZs (moto ignores the stack's region and does not
   resolve its argument) and a short-form tag on a mapping (`!Base64 {"Fn::Join": ...}`: moto hands the
   function raw YAML nodes) as AWS documents them; see intrinsics.py.
26. nested-stack-id: AWS gives a nested stack's resource the nested stack's id (its ARN) as physical id, and
   `Ref` of it answers the same; moto gives its name. A tool that follows a nested stack by its id (into its
   parent's region, which may not be the caller's default) then cannot find it. We answer the id.
25. attributes: a `Fn::GetAtt` AWS documents but moto's model does not answer (a subnet's
   AvailabilityZone) is read from the model's field of the same name in snake_case; see intrinsics.py.
4. delete-in-order: moto gives up deleting a stack whose resources depend on each other (a VPC with a
   route table, a role with a policy) and drops the stack record; AWS deletes them in dependency order. We
   finish the delete and record the stack as DELETE_COMPLETE. moto also never deletes a stack's ELBv2
   target groups, so a stack created again collides with its own old names; we delete them.
"""

import inspect
import logging
import sys
import threading

import intrinsics
import paced

from moto.cloudformation import models, parsing, responses
from moto.core.common_models import CloudFormationModel
from moto.moto_api._internal import mock_random

log = logging.getLogger("stackc-shim")


class Placeholder(CloudFormationModel):
    """Stands in for a resource type moto does not model (correction 3)."""

    # moto's model registry files models by the second part of their module name.
    __module__ = "moto.cloudformation.stackc_shim"

    def __init__(self, physical_id, resource_type, account_id, region_name):
        self.physical_resource_id = physical_id
        self.resource_type = resource_type
        self.account_id = account_id
        self.region_name = region_name

    @staticmethod
    def cloudformation_name_type():
        return ""

    @staticmethod
    def cloudformation_type():
        return "Stackc::Shim::Placeholder"

    @classmethod
    def has_cfn_attr(cls, attr):
        return True

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        rtype = kwargs.get("ResourceType", "Unknown")
        service = rtype.split("::")[1].lower() if "::" in rtype else "unknown"
        physical = f"arn:aws:{service}:{region_name}:{account_id}:placeholder/{resource_name}"
        if rtype.startswith("AWS::CloudFront::") or rtype.startswith("AWS::S3::"):
            physical = f"{resource_name}-{mock_random.get_random_hex(8)}".lower()
        return cls(physical, rtype, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        return None

    def get_cfn_attribute(self, attribute_name):
        if attribute_name == "Arn" or attribute_name.endswith("Arn"):
            return self.physical_resource_id if self.physical_resource_id.startswith("arn:") else f"arn:aws:placeholder:::{self.physical_resource_id}"
        if attribute_name == "DomainName":
            return f"{self.physical_resource_id}.cloudfront.net"
        return f"{self.physical_resource_id}.{attribute_name}"


intrinsics.install()  # correction 24
# correction 26: a nested stack's physical id (and its Ref) is its stack id, as in AWS.
models.Stack.physical_resource_id = property(lambda self: self.stack_id)

_original_class_from_type = parsing.resource_class_from_type


def resource_class_from_type(resource_type):
    cls = _original_class_from_type(resource_type)
    if cls is None and resource_type not in parsing.NULL_MODELS:
        return Placeholder
    return cls


parsing.resource_class_from_type = resource_class_from_type

_original_create_change_set = models.CloudFormationBackend.create_change_set


def create_change_set(self, *args, **kwargs):
    bound = inspect.signature(_original_create_change_set).bind(self, *args, **kwargs).arguments
    stack_name = bound.get("stack_name")
    busy = next((st for st in self.stacks.values() if st.name == stack_name and st.status.endswith("_IN_PROGRESS") and st.status != "REVIEW_IN_PROGRESS"), None)
    if busy is not None:  # correction 21: AWS refuses to plan over an operation in progress
        from moto.cloudformation.exceptions import ValidationError

        raise ValidationError(message=f"Stack:{busy.stack_id} is in {busy.status} state and can not be updated.")
    if bound.get("change_set_type") == "CREATE":  # correction 5
        for sid, stack in list(self.stacks.items()):
            if stack.name == stack_name and stack.status == "REVIEW_IN_PROGRESS":
                del self.stacks[sid]
                for cid, cs in list(self.change_sets.items()):
                    if cs.stack_id == sid:
                        del self.change_sets[cid]
    result = _original_create_change_set(self, *args, **kwargs)
    if bound.get("change_set_type") == "UPDATE":  # correction 10
        for cs in self.change_sets.values():
            if cs.status == "FAILED" and "didn't contain changes" in (cs.status_reason or "") and cs.tags and cs.tags != (cs.stack.tags or {}):
                cs.status, cs.execution_status, cs.status_reason = "CREATE_COMPLETE", "AVAILABLE", None
    for stack in self.stacks.values():  # correction 2
        stack.cross_stack_resources = self.exports
        stack.resource_map.cross_stack_resources = self.exports
    made = self.change_sets.get(result[0]) if isinstance(result, tuple) else None
    if paced.PACE > 0 and made is not None:  # correction 21: a change set takes a while to create
        settled = (made.status, made.execution_status)
        made.status, made.execution_status = "CREATE_IN_PROGRESS", "UNAVAILABLE"

        def settle():
            made.status, made.execution_status = settled

        threading.Timer(paced.CHANGE_SET_SECONDS * paced.PACE, settle).start()
    return result


models.CloudFormationBackend.create_change_set = create_change_set

_current = threading.local()  # requests run on several threads
_original_parse_and_create = parsing.parse_and_create_resource
_original_parse_and_update = parsing.parse_and_update_resource


def _tracked(original, verb):
    # moto creates resources lazily (a Ref creates its target first), so keep a stack of the resources
    # being made: when one raises, it is the innermost entry left.
    def wrapper(logical_id, resource_json, *args, **kwargs):
        entry = (logical_id, resource_json.get("Type", ""), verb)
        if not hasattr(_current, "stack"):
            _current.stack = []
        _current.stack.append(entry)
        events_to = getattr(_current, "events_to", None)  # correction 15
        if events_to is not None and logical_id not in events_to.stackc_stepped:
            events_to.stackc_stepped.add(logical_id)
            _resource_event(events_to, logical_id, entry[1], f"{verb}_IN_PROGRESS", None)
            if getattr(_current, "paced", False):  # correction 21
                paced.wait(events_to, entry[1], verb)
        if events_to is not None and getattr(events_to, "stackc_cancel", False):  # correction 23
            raise paced.Cancelled(verb)
        result = original(logical_id, resource_json, *args, **kwargs)
        _current.stack.pop()
        if events_to is not None and isinstance(result, models.Stack) and result is not events_to:  # correction 20
            result.parent_id = events_to.stack_id
            result.root_id = getattr(events_to, "root_id", None) or events_to.stack_id
        if events_to is not None and logical_id in events_to.stackc_stepped:
            physical = getattr(result, "physical_resource_id", "") or ""
            _resource_event(events_to, logical_id, entry[1], f"{verb}_COMPLETE", None, physical)
            events_to.stackc_stepped.discard(logical_id)
        return result

    return wrapper


parse_and_create_resource = _tracked(_original_parse_and_create, "CREATE")
def _update_in_place(logical_id, resource_json, resources_map, *args, **kwargs):  # correction 9
    original = resources_map._parsed_resources.get(logical_id)
    updated = _original_parse_and_update(logical_id, resource_json, resources_map, *args, **kwargs)
    if updated is not None or original is None:
        return updated
    properties = resource_json.get("Properties", {}) or {}
    for key, value in properties.items():
        if not isinstance(value, (str, int, bool)):
            continue
        snake = "".join("_" + c.lower() if c.isupper() else c for c in key).lstrip("_")
        if hasattr(original, snake) and isinstance(getattr(original, snake), (str, int, bool, type(None))):
            setattr(original, snake, value)
    return original


parse_and_update_resource = _tracked(_update_in_place, "UPDATE")


parsing.parse_and_create_resource = parse_and_create_resource
parsing.parse_and_update_resource = parse_and_update_resource


def _resource_event(stack, logical_id, rtype, status, reason, physical=""):
    event = models.Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=logical_id,
        physical_resource_id=physical if isinstance(physical, str) else str(physical),
        resource_type=rtype,
        resource_status=status,
        resource_status_reason=reason,
        resource_properties=None,
    )
    stack.events.append(event)


_original_execute_change_set = models.CloudFormationBackend.execute_change_set


def _find_change_set(backend, change_set_name, stack_name):
    change_set = backend.change_sets.get(change_set_name)
    if change_set is None:
        change_set = next((c for c in backend.change_sets.values() if c.change_set_name == change_set_name and (stack_name is None or c.stack.name == stack_name or c.stack.stack_id == stack_name)), None)
    return change_set


def execute_change_set(self, change_set_name, stack_name=None):
    change_set = _find_change_set(self, change_set_name, stack_name)
    if paced.PACE <= 0 or change_set is None:
        return _execute_now(self, change_set_name, stack_name, change_set)
    # correction 21: the call returns at once; the stack is *_IN_PROGRESS while its resources take their time.
    from moto.cloudformation.exceptions import ValidationError

    if change_set.status != "CREATE_COMPLETE" or change_set.execution_status != "AVAILABLE":
        raise ValidationError(message=f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current status of [{change_set.status}]")
    stack = change_set.stack
    stack.status = "CREATE_IN_PROGRESS" if change_set.change_set_type == "CREATE" else "UPDATE_IN_PROGRESS"
    change_set.execution_status = "EXECUTE_IN_PROGRESS"
    stack.stackc_cancel = False

    def run():
        _current.paced = True
        try:
            _execute_now(self, change_set_name, stack_name, change_set)
        except Exception as error:
            log.warning("paced execution of %s: %s", change_set_name, error)

    threading.Thread(target=run, daemon=True).start()


def _execute_now(self, change_set_name, stack_name, change_set):
    stack = change_set.stack if change_set is not None else None
    if stack is not None:
        stack.cross_stack_resources = self.exports
        stack.resource_map.cross_stack_resources = self.exports
        old_parameters = dict(getattr(stack.resource_map, "input_parameters", {}) or {})
    _current.stack = []
    if stack is not None:  # correction 15
        stack.stackc_stepped = set()
        _current.events_to = stack
    try:
        _original_execute_change_set(self, change_set_name, stack_name)
    except Exception as error:  # correction 7
        _current.events_to = None
        if stack is None:
            raise
        _roll_back(stack, change_set, error, old_parameters)
        return
    _current.events_to = None
    if stack is not None and change_set.tags:  # correction 10
        stack.tags = dict(change_set.tags)
    if stack is not None:  # correction 1
        stack._parse_template()
        for export in stack.exports:
            self.exports.pop(export.name, None)
        stack.output_map = stack._create_output_map()
        for export in stack.exports:
            self.exports[export.name] = export


def _roll_back(stack, change_set, error, old_parameters):  # correction 7
    reason = getattr(error, "message", None) or str(error) or type(error).__name__
    inner = getattr(_current, "stack", None) or [(stack.name, "AWS::CloudFormation::Stack", "CREATE")]
    logical_id, rtype, verb = inner[-1]
    _resource_event(stack, logical_id, rtype, f"{verb}_FAILED", reason)
    if change_set.change_set_type == "CREATE":
        stack._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason=f"The following resource(s) failed to create: [{logical_id}]. Rollback requested by user.")
        try:
            # What the failed apply made is filed under the change set's template.
            stack.resource_map._resource_json_map = change_set.template_dict.get("Resources", {})
            stack.resource_map.delete()
        except Exception as cleanup:
            log.warning("rollback of %s left resources behind: %s", stack.name, cleanup)
        stack._add_stack_event("ROLLBACK_COMPLETE")
        stack.status = "ROLLBACK_COMPLETE"
    else:
        cancelled = isinstance(error, paced.Cancelled)
        stack.status = "UPDATE_ROLLBACK_IN_PROGRESS"
        stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason="User Initiated" if cancelled else f"The following resource(s) failed to update: [{logical_id}].")
        stack.stackc_cancel = False
        if getattr(_current, "paced", False):  # correction 21: the rollback takes a while too
            paced.wait(stack, "", "DELETE")
        try:  # AWS puts the previous template and parameters back
            stack.resource_map.update(stack.template_dict, old_parameters)
        except Exception as restore:
            log.warning("rollback of %s left the new version of some resources: %s", stack.name, restore)
        stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
        stack.status = "UPDATE_ROLLBACK_COMPLETE"
    change_set.execution_status = "EXECUTE_FAILED"


models.CloudFormationBackend.execute_change_set = execute_change_set

_original_validate_update = responses.CloudFormationResponse._validate_different_update


def _validate_different_update(self, incoming_params, stack_body, old_stack):  # correction 10
    tags = {t["Key"]: t["Value"] for t in (self._get_param("Tags", []) or [])}
    if tags and tags != (old_stack.tags or {}):
        return None
    return _original_validate_update(self, incoming_params, stack_body, old_stack)


responses.CloudFormationResponse._validate_different_update = _validate_different_update


def describe_stack_events(self):  # correction 16
    events = self.cloudformation_backend.describe_stack_events(self._get_param("StackName"))[::-1]
    start = int(self._get_param("NextToken") or 0)
    result = {"StackEvents": events[start:start + 100]}
    if start + 100 < len(events):
        result["NextToken"] = str(start + 100)
    return responses.ActionResult(result)


responses.CloudFormationResponse.describe_stack_events = describe_stack_events


# correction 17: change-details
def _create_only(resource_type):
    try:
        from cfnlint.schema.manager import PROVIDER_SCHEMA_MANAGER

        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
        return {p.split("/")[2] for p in schema.get("createOnlyProperties", []) if p.count("/") >= 2}
    except Exception:
        return set()


def _resolve(value, params):
    """A template value with parameter references resolved (other functions kept as they are)."""
    if isinstance(value, dict) and len(value) == 1:
        (key, inner), = value.items()
        if key == "Ref" and isinstance(inner, str) and inner in params:
            return params[inner]
        if key == "Fn::Sub" and isinstance(inner, str):
            text = inner
            for name, v in params.items():
                text = text.replace("${" + name + "}", str(v))
            return text
    if isinstance(value, dict):
        return {k: _resolve(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, params) for v in value]
    return value


def _referenced(value):
    import re as _re

    if isinstance(value, dict):
        found = set()
        for k, v in value.items():
            if k == "Ref" and isinstance(v, str):
                found.add(v)
            elif k == "Fn::Sub" and isinstance(v, str):
                found |= set(_re.findall(r"\$\{([^!}][^}]*)\}", v))
            else:
                found |= _referenced(v)
        return found
    if isinstance(value, list):
        return set().union(*[_referenced(v) for v in value]) if value else set()
    return set()


def _shown(value, secret_names, node):
    import json as _json

    if _referenced(node) & secret_names:
        return "****"
    return value if isinstance(value, str) else _json.dumps(value, sort_keys=True)


class _Obj:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def _details(change_set, logical_id):
    old_json = change_set.stack.resource_map._resource_json_map.get(logical_id, {}) or {}
    new_json = (change_set.template_dict.get("Resources", {}) or {}).get(logical_id, {}) or {}
    old_params = dict(getattr(change_set.stack.resource_map, "input_parameters", {}) or {})
    new_params = {**old_params, **dict(change_set.parameters or {})}
    declared = (change_set.template_dict.get("Parameters", {}) or {})
    secret_names = {k for k, v in declared.items() if str((v or {}).get("NoEcho", "")).lower() == "true"}
    changed_params = {k for k in new_params if old_params.get(k) != new_params.get(k)}
    create_only = _create_only(new_json.get("Type", ""))
    old_props, new_props = old_json.get("Properties", {}) or {}, new_json.get("Properties", {}) or {}
    details = []
    for name in sorted(set(old_props) | set(new_props)):
        before = _resolve(old_props.get(name), old_params)
        after = _resolve(new_props.get(name), new_params)
        if before == after:
            continue
        causes = []
        if old_props.get(name) != new_props.get(name):
            causes.append(("DirectModification", None))
        for param in sorted(_referenced(new_props.get(name)) & changed_params):
            causes.append(("ParameterReference", param))
        for source, entity in causes or [("DirectModification", None)]:
            target = _Obj(attribute="Properties", name=name, path=f"/Properties/{name}",
                          requires_recreation="Always" if name in create_only else "Never",
                          before_value=None if name not in old_props else _shown(before, secret_names, old_props.get(name)),
                          after_value=None if name not in new_props else _shown(after, secret_names, new_props.get(name)),
                          attribute_change_type="Add" if name not in old_props else "Remove" if name not in new_props else "Modify")
            details.append(_Obj(target=target, evaluation="Static", change_source=source, causing_entity=entity))
    return details


_original_diff = models.ChangeSet.diff


def diff_with_details(self):
    changes = _original_diff(self)
    # A resource whose template is the same but whose parameters changed is modified too (moto's change
    # sets compare templates only).
    listed = {c.logical_resource_id for c in changes}
    old_map = self.stack.resource_map._resource_json_map or {}
    old_params = dict(getattr(self.stack.resource_map, "input_parameters", {}) or {})
    changed = {k for k, v in dict(self.parameters or {}).items() if old_params.get(k) != v}
    for name, resource in (self.template_dict.get("Resources", {}) or {}).items():
        if name not in listed and name in old_map and _referenced(resource.get("Properties", {})) & changed:
            changes.append(models.Change(action="Modify", logical_resource_id=name, resource_type=resource.get("Type", "")))
    for change in changes:
        if change.action == "Modify":
            change.details = _details(self, change.logical_resource_id)
            recreate = {d.target.requires_recreation for d in change.details}
            change.replacement = "True" if "Always" in recreate else "False"
            change.scope = ["Properties"] if change.details else []
    return changes


models.ChangeSet.diff = diff_with_details
_original_describe_change_set = responses.CloudFormationResponse.describe_change_set


def describe_change_set(self):
    result = _original_describe_change_set(self)
    if str(self._get_param("IncludePropertyValues", "false")).lower() != "true":
        change_set = self.cloudformation_backend.describe_change_set(change_set_name=self._get_param("ChangeSetName"))
        for change in change_set.changes:
            for d in getattr(change, "details", []):
                d.target = _Obj(**{**d.target.__dict__, "before_value": None, "after_value": None})
    return result


responses.CloudFormationResponse.describe_change_set = describe_change_set


# correction 18: termination-protection
def update_termination_protection(self):
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    stack.enable_termination_protection = str(self._get_param("EnableTerminationProtection")).lower() == "true"
    return responses.ActionResult({"StackId": stack.stack_id})


responses.CloudFormationResponse.update_termination_protection = update_termination_protection


def cancel_update_stack(self):  # correction 23
    from moto.cloudformation.exceptions import ValidationError

    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    if stack.status != "UPDATE_IN_PROGRESS":
        raise ValidationError(message="CancelUpdateStack cannot be called from current stack status")
    stack.stackc_cancel = True
    return responses.ActionResult({})


responses.CloudFormationResponse.cancel_update_stack = cancel_update_stack
_original_call_action = responses.CloudFormationResponse.call_action


def call_action(self):  # correction 22
    if not paced.take(self._get_action()):
        from moto.cloudformation.exceptions import CloudFormationError

        status, headers, body = self.serialized(responses.ActionResult(CloudFormationError("Throttling", "Rate exceeded")))
        return 400, headers, body
    return _original_call_action(self)


responses.CloudFormationResponse.call_action = call_action
_original_backend_delete_stack = models.CloudFormationBackend.delete_stack


def backend_delete_stack(self, name_or_stack_id):
    from moto.cloudformation.exceptions import ValidationError

    for stack in list(self.stacks.values()):
        if name_or_stack_id in (stack.stack_id, stack.name) and getattr(stack, "enable_termination_protection", False):
            raise ValidationError(message=f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled")
    if paced.PACE <= 0 or getattr(_current, "deleting", False):
        return _original_backend_delete_stack(self, name_or_stack_id)
    # correction 21: the call returns at once; the stack is DELETE_IN_PROGRESS while its resources go.
    for stack in list(self.stacks.values()):
        if name_or_stack_id in (stack.stack_id, stack.name) and stack.status != "DELETE_IN_PROGRESS":
            stack.status = "DELETE_IN_PROGRESS"
            stack._add_stack_event("DELETE_IN_PROGRESS", resource_status_reason="User Initiated")
            threading.Thread(target=_paced_delete, args=(self, stack), daemon=True).start()


def _paced_delete(backend, stack):
    _current.deleting = True
    resources = stack.resource_map._resource_json_map or {}
    for logical_id in reversed(list(stack.resource_map._parsed_resources)):
        if logical_id not in resources:
            continue
        rtype = resources[logical_id].get("Type", "")
        physical = getattr(stack.resource_map._parsed_resources[logical_id], "physical_resource_id", "") or ""
        _resource_event(stack, logical_id, rtype, "DELETE_IN_PROGRESS", None, physical)
        paced.wait(stack, rtype, "DELETE")
        _resource_event(stack, logical_id, rtype, "DELETE_COMPLETE", None, physical)
    count = len(stack.events)
    try:
        _original_backend_delete_stack(backend, stack.stack_id)
    except Exception as error:
        log.warning("paced delete of %s: %s", stack.name, error)
    # moto's delete records the stack's DELETE_IN_PROGRESS again; it was recorded when the call was made
    stack.events[count:] = [e for e in stack.events[count:] if not (e.resource_status == "DELETE_IN_PROGRESS" and e.logical_resource_id == stack.name)]


models.CloudFormationBackend.delete_stack = backend_delete_stack


# correction 19: nested-change-sets
def _nest(backend, change_set, depth=0):
    from moto.cloudformation.utils import get_stack_from_s3_url

    if depth > 5:
        return
    old_params = dict(getattr(change_set.stack.resource_map, "input_parameters", {}) or {})
    params = {**old_params, **dict(change_set.parameters or {})}
    for change in change_set.changes:
        if change.resource_type != "AWS::CloudFormation::Stack" or change.action != "Modify":
            continue
        nested = change_set.stack.resource_map._parsed_resources.get(change.logical_resource_id)
        resource = (change_set.template_dict.get("Resources", {}) or {}).get(change.logical_resource_id, {})
        props = _resolve(resource.get("Properties", {}) or {}, params)
        url = props.get("TemplateURL")
        if nested is None or not isinstance(url, str):
            continue
        body = get_stack_from_s3_url(url, account_id=change_set.stack.account_id, partition="aws")
        nested_params = {k: str(v) for k, v in (props.get("Parameters") or {}).items()}
        name = f"{change_set.change_set_name}-{change.logical_resource_id}"[:128]
        child_id, _ = backend.create_change_set(stack_name=nested.name, change_set_name=name, template=body,
                                                parameters=nested_params, description="nested", change_set_type="UPDATE")
        change.change_set_id = child_id
        _nest(backend, backend.change_sets[child_id], depth + 1)


_original_create_change_set_response = responses.CloudFormationResponse.create_change_set


def create_change_set_response(self):
    result = _original_create_change_set_response(self)
    if str(self._get_param("IncludeNestedStacks", "false")).lower() == "true":
        backend = self.cloudformation_backend
        name, stack_name = self._get_param("ChangeSetName"), self._get_param("StackName")
        made = [c for c in backend.change_sets.values() if c.change_set_name == name and stack_name in (c.stack.name, c.stack.stack_id)]
        if made:
            _nest(backend, made[-1])
    return result


responses.CloudFormationResponse.create_change_set = create_change_set_response

_original_stack_delete = models.Stack.delete


def stack_delete(self):
    try:
        _original_stack_delete(self)
    except Exception as error:  # correction 4
        log.warning("stack %s: moto could not delete every resource (%s); finishing as AWS would", self.name, error)
        self._add_stack_event("DELETE_COMPLETE")
        self.status = "DELETE_COMPLETE"


models.Stack.delete = stack_delete

_original_resource_map_delete = parsing.ResourceMap.delete


def resource_map_delete(self):
    from moto.elbv2.models import FakeTargetGroup, elbv2_backends

    groups = [r for r in self._parsed_resources.values() if isinstance(r, FakeTargetGroup)]
    try:
        _original_resource_map_delete(self)
    finally:  # correction 4: the target groups moto leaves behind
        for group in groups:
            try:
                elbv2_backends[self._account_id][self._region_name].delete_target_group(group.arn)
            except Exception as error:
                log.warning("target group %s: %s", group.arn, error)


parsing.ResourceMap.delete = resource_map_delete


_original_parameter_list = models.Stack.parameter_list.fget


def parameter_list(self):  # correction 6
    out = _original_parameter_list(self)
    for p in out:
        if isinstance(p["ParameterValue"], list):
            p["ParameterValue"] = ",".join(str(x) for x in p["ParameterValue"])
    return out


models.Stack.parameter_list = property(parameter_list)


def _load_balancer_from_cfn(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):  # correction 8
    from moto.elbv2.models import elbv2_backends

    properties = cloudformation_json["Properties"]
    return elbv2_backends[account_id][region_name].create_load_balancer(
        resource_name,
        properties.get("SecurityGroups"),
        properties.get("Subnets"),
        scheme=properties.get("Scheme", "internet-facing"),
        loadbalancer_type=properties.get("Type", "application"),
    )


def _patch_load_balancer():
    from moto.elbv2.models import FakeLoadBalancer

    FakeLoadBalancer.create_from_cloudformation_json = classmethod(_load_balancer_from_cfn)


_patch_load_balancer()


# correction 11: drift
_drift_runs = {}


def _live_ssm_parameter(account_id, region, physical_id):
    from moto.ssm.models import ssm_backends

    p = ssm_backends[account_id][region].get_parameter(physical_id)
    if p is None:
        return None
    return {"Name": p.name, "Type": p.parameter_type, "Value": p.value, "Description": p.description,
            "AllowedPattern": p.allowed_pattern, "Tier": p.tier, "DataType": p.data_type}


def _live_log_group(account_id, region, physical_id):
    from moto.logs.models import logs_backends

    g = logs_backends[account_id][region].groups.get(physical_id)
    if g is None:
        return None
    return {"LogGroupName": g.name, "RetentionInDays": g.retention_in_days}


_LIVE = {"AWS::SSM::Parameter": _live_ssm_parameter, "AWS::Logs::LogGroup": _live_log_group}


def _as_text(value):
    import json

    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _differences(expected, actual, path):
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for key, want in expected.items():
            if key in actual:  # only what the template sets and the live model knows is compared
                out += _differences(want, actual[key], f"{path}/{key}")
        return out
    if actual is None and expected is not None:
        return [{"PropertyPath": path, "ExpectedValue": _as_text(expected), "ActualValue": "null", "DifferenceType": "REMOVE"}]
    if isinstance(expected, list) and isinstance(actual, list):
        out = []
        for i in range(max(len(expected), len(actual))):
            if i >= len(actual):
                out.append({"PropertyPath": f"{path}/{i}", "ExpectedValue": _as_text(expected[i]), "ActualValue": "null", "DifferenceType": "REMOVE"})
            elif i >= len(expected):
                out.append({"PropertyPath": f"{path}/{i}", "ExpectedValue": "null", "ActualValue": _as_text(actual[i]), "DifferenceType": "ADD"})
            else:
                out += _differences(expected[i], actual[i], f"{path}/{i}")
        return out
    if _as_text(expected) != _as_text(actual):
        return [{"PropertyPath": path, "ExpectedValue": _as_text(expected), "ActualValue": _as_text(actual), "DifferenceType": "NOT_EQUAL"}]
    return []


def _resource_drift(stack, logical_id, resource_json, now):
    import json

    rtype = resource_json.get("Type", "")
    resource = stack.resource_map._parsed_resources.get(logical_id)
    physical = getattr(resource, "physical_resource_id", None) or ""
    drift = {"StackId": stack.stack_id, "LogicalResourceId": logical_id, "PhysicalResourceId": physical,
             "ResourceType": rtype, "Timestamp": now, "StackResourceDriftStatus": "NOT_CHECKED"}
    live = _LIVE.get(rtype)
    if live is None or resource is None:
        return drift
    expected = parsing.clean_json(resource_json.get("Properties", {}), stack.resource_map)
    actual = live(stack.account_id, stack.region_name, physical)
    drift["ExpectedProperties"] = json.dumps(expected, sort_keys=True)
    if actual is None:
        drift["StackResourceDriftStatus"] = "DELETED"
        return drift
    shown = {k: v for k, v in actual.items() if v is not None}
    drift["ActualProperties"] = json.dumps(shown, sort_keys=True)
    differences = _differences(expected, actual, "")
    drift["PropertyDifferences"] = differences
    drift["StackResourceDriftStatus"] = "MODIFIED" if differences else "IN_SYNC"
    return drift


def detect_stack_drift(self):
    from moto.core.utils import utcnow

    stack = self.cloudformation_backend.describe_stacks(self._get_param("StackName"))[0]
    wanted = self._get_param("LogicalResourceIds") or None
    now = utcnow()
    drifts = [
        _resource_drift(stack, logical_id, resource_json, now)
        for logical_id, resource_json in stack.template_dict.get("Resources", {}).items()
        if wanted is None or logical_id in wanted
    ]
    detection_id = str(mock_random.uuid4())
    _drift_runs[detection_id] = {"stack": stack, "time": now}
    stack.stackc_drifts = drifts
    return responses.ActionResult({"StackDriftDetectionId": detection_id})


def describe_stack_drift_detection_status(self):
    detection_id = self._get_param("StackDriftDetectionId")
    run = _drift_runs.get(detection_id)
    if run is None:
        raise models.ValidationError(message=f"Drift detection {detection_id} does not exist")
    drifted = [d for d in run["stack"].stackc_drifts if d["StackResourceDriftStatus"] in ("MODIFIED", "DELETED")]
    return responses.ActionResult({
        "StackId": run["stack"].stack_id, "StackDriftDetectionId": detection_id,
        "StackDriftStatus": "DRIFTED" if drifted else "IN_SYNC", "DetectionStatus": "DETECTION_COMPLETE",
        "DriftedStackResourceCount": len(drifted), "Timestamp": run["time"],
    })


def describe_stack_resource_drifts(self):
    stack = self.cloudformation_backend.describe_stacks(self._get_param("StackName"))[0]
    wanted = self._get_param("StackResourceDriftStatusFilters") or None
    drifts = getattr(stack, "stackc_drifts", None)
    if drifts is None:
        raise models.ValidationError(message="No drift detection has been run on this stack")
    return responses.ActionResult({"StackResourceDrifts": [d for d in drifts if wanted is None or d["StackResourceDriftStatus"] in wanted]})


responses.CloudFormationResponse.detect_stack_drift = detect_stack_drift
responses.CloudFormationResponse.describe_stack_drift_detection_status = describe_stack_drift_detection_status
responses.CloudFormationResponse.describe_stack_resource_drifts = describe_stack_resource_drifts


# correction 12: stack-set-updates
_original_create_stack = models.CloudFormationBackend.create_stack


def create_stack(self, *args, **kwargs):
    bound = inspect.signature(_original_create_stack).bind(self, *args, **kwargs)
    name = bound.arguments.get("name", "")
    if name.startswith("StackSet:"):
        bound.arguments["name"] = f"StackSet-{name[len('StackSet:'):]}-{mock_random.uuid4()}"
    return _original_create_stack(*bound.args, **bound.kwargs)


models.CloudFormationBackend.create_stack = create_stack
_original_update_stack_set = models.CloudFormationBackend.update_stack_set


def update_stack_set(self, *args, **kwargs):
    operation = _original_update_stack_set(self, *args, **kwargs)
    bound = inspect.signature(_original_update_stack_set).bind(self, *args, **kwargs).arguments
    stackset = self.describe_stack_set(bound["stackset_name"])
    stackset.instances.template = stackset.template
    stackset.instances.parameters = stackset.parameters
    params = [{"ParameterKey": k, "ParameterValue": v} for k, v in stackset.parameters.items()]
    for instance in stackset.instances.stack_instances:
        instance.template = stackset.template
        if instance.permission_model == "SELF_MANAGED":
            backend = models.cloudformation_backends[instance.account_id][instance.region_name]
            backend.update_stack(name=instance.stack.name, template=stackset.template, role_arn=None, parameters=params, tags=None)
    return operation


models.CloudFormationBackend.update_stack_set = update_stack_set


# correction 13: stack-set-organizational-units
def _accounts_of_units(org, units):
    units = set(units) | {ou.id for ou in org.ou if ou.parent_id in units}
    return {a.id: a.parent_id for a in org.accounts if a.parent_id in units}


_original_create_instances = models.StackInstances.create_instances


def create_instances(self, accounts, regions, parameters, deployment_targets, permission_model):
    unit_of = _accounts_of_units(self.org_backend, deployment_targets.get("OrganizationalUnitIds", []))
    result = _original_create_instances(self, accounts, regions, parameters, deployment_targets, permission_model)
    for instance in self.stack_instances:
        if instance.account_id in unit_of and not hasattr(instance, "stackc_unit"):
            instance.stackc_unit = unit_of[instance.account_id]
    return result


models.StackInstances.create_instances = create_instances
_original_instance_dict = models.StackInstance.to_dict


def instance_dict(self):
    out = _original_instance_dict(self)
    if getattr(self, "stackc_unit", None):
        out["OrganizationalUnitId"] = self.stackc_unit
    if getattr(self, "stackc_drift_status", None):  # correction 14
        out["DriftStatus"] = self.stackc_drift_status
    return out


models.StackInstance.to_dict = instance_dict


def delete_stack_instances(self):
    name = self._get_param("StackSetName")
    accounts = self._get_param("Accounts", [])
    regions = self._get_param("Regions", [])
    units = (self._get_params().get("DeploymentTargets") or {}).get("OrganizationalUnitIds", [])
    if units:
        stackset = self.cloudformation_backend.describe_stack_set(name)
        accounts = list(_accounts_of_units(stackset.instances.org_backend, units))
    stackset = self.cloudformation_backend.delete_stack_instances(name, accounts, regions)
    return responses.ActionResult({"OperationId": stackset.operations[-1]["OperationId"]})


responses.CloudFormationResponse.delete_stack_instances = delete_stack_instances


# correction 14: stack-set-drift
def detect_stack_set_drift(self):
    from moto.core.utils import utcnow

    stackset = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))
    now = utcnow()
    for instance in stackset.instances.stack_instances:
        stack = instance.stack
        drifts = [_resource_drift(stack, lid, rjson, now) for lid, rjson in stack.template_dict.get("Resources", {}).items()]
        instance.stackc_drifts = drifts
        drifted = any(d["StackResourceDriftStatus"] in ("MODIFIED", "DELETED") for d in drifts)
        instance.stackc_drift_status = "DRIFTED" if drifted else "IN_SYNC"
    operation_id = str(mock_random.uuid4())
    stackset._create_operation(operation_id=operation_id, action="DETECT_DRIFT", status="SUCCEEDED")
    return responses.ActionResult({"OperationId": operation_id})


def list_stack_instance_resource_drifts(self):
    stackset = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))
    instance = stackset.instances.get_instance(self._get_param("StackInstanceAccount"), self._get_param("StackInstanceRegion"))
    if instance is None or not hasattr(instance, "stackc_drifts"):
        raise models.ValidationError(message="No drift detection has been run on this stack instance")
    summaries = []
    for d in instance.stackc_drifts:
        summary = {k: d[k] for k in ("StackId", "LogicalResourceId", "PhysicalResourceId", "ResourceType", "Timestamp") if k in d}
        summary["PropertyDifferences"] = d.get("PropertyDifferences", [])
        summary["StackResourceDriftStatus"] = d["StackResourceDriftStatus"]
        summaries.append(summary)
    return responses.ActionResult({"Summaries": summaries})


responses.CloudFormationResponse.detect_stack_set_drift = detect_stack_set_drift
responses.CloudFormationResponse.list_stack_instance_resource_drifts = list_stack_instance_resource_drifts


if __name__ == "__main__":
    from moto.server import main

    args = paced.configure(sys.argv[1:])
    port = args[0] if args else "5000"
    main(["-H", "127.0.0.1", "-p", port])
