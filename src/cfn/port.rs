//! The CloudFormation port: what the deploy engine needs from CloudFormation, as plain data.
//! The AWS adapter implements it with the SDK; engine tests implement it with a scripted fake.

use std::collections::BTreeMap;
use std::fmt;

use crate::secret::Secret;

/// A parameter value on its way to CloudFormation.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiValue {
    Plain(String),
    Secret(Secret),
    /// Keep the value the stack has (UsePreviousValue).
    Previous,
    /// An output of a layer not deployed yet (its description): a plan can show it, but no request may
    /// carry it; the adapters refuse one (`placeholder_refused`).
    Placeholder(String),
}

/// The error an adapter gives instead of sending a placeholder: a bug of stackc's, never a user's.
pub fn placeholder_refused(operation: &str, parameter: &str, what: &str) -> PortError {
    PortError::Api {
        operation: operation.into(),
        code: "InternalError".into(),
        message: format!(
            "parameter `{parameter}` is still a placeholder ({what}) and was not sent; stackc should have waited for \
             that layer: please report this"
        ),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeSetType {
    Create,
    Update,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChangeSetRequest {
    pub stack_name: String,
    pub change_set_name: String,
    pub kind: ChangeSetType,
    pub template_body: String,
    /// Set when the template is too large for the body: CloudFormation reads it from here instead.
    pub template_url: Option<String>,
    pub parameters: Vec<(String, ApiValue)>,
    pub tags: BTreeMap<String, String>,
    pub capabilities: Vec<String>,
    pub role_arn: Option<String>,
    pub description: String,
    /// SNS topics told about the stack's events.
    pub notification_arns: Vec<String>,
    /// CloudWatch alarms that roll the update back, and how long they are watched (minutes).
    pub rollback_alarms: Vec<String>,
    pub rollback_minutes: Option<u32>,
    /// Make change sets for the template's nested stacks too (IncludeNestedStacks), so the plan can show
    /// what changes inside them.
    pub include_nested_stacks: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StackInfo {
    pub name: String,
    pub id: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub outputs: BTreeMap<String, String>,
    pub parameters: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub last_updated: Option<String>,
    pub termination_protection: bool,
    /// The parent stack's id, for a nested stack.
    pub parent_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceChange {
    /// Add, Modify, Remove, Import, Dynamic
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// True, False or Conditional, when CloudFormation says.
    pub replacement: Option<String>,
    /// What changes in a modified resource, one entry per property and cause (DescribeChangeSet's Details).
    pub details: Vec<PropertyChange>,
    /// A nested stack's own change set (its ARN), made with IncludeNestedStacks.
    pub nested_change_set: Option<String>,
}

/// One change of one attribute of a resource, as CloudFormation explains it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PropertyChange {
    /// Properties, Metadata, CreationPolicy, UpdatePolicy, DeletionPolicy, UpdateReplacePolicy or Tags.
    pub attribute: String,
    /// The property's name (top level), when the attribute is Properties.
    pub name: Option<String>,
    /// The JSON pointer of the changed value inside the resource, when given.
    pub path: Option<String>,
    /// Never, Conditionally or Always.
    pub requires_recreation: Option<String>,
    /// ResourceReference, ParameterReference, ResourceAttribute, DirectModification or Automatic.
    pub change_source: Option<String>,
    /// The parameter, resource or `Resource.Attribute` that causes the change.
    pub causing_entity: Option<String>,
    /// The values before and after (only with property values requested; a NoEcho value is masked).
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSetInfo {
    pub id: String,
    /// CREATE_PENDING, CREATE_IN_PROGRESS, CREATE_COMPLETE, FAILED, ...
    pub status: String,
    pub status_reason: Option<String>,
    pub changes: Vec<ResourceChange>,
}

/// How many pages of stack events (100 each on AWS) one read follows at most: a stack's whole history can
/// be far longer than what anyone needs, and every page is a call.
pub const MAX_EVENT_PAGES: usize = 50;

/// `enough` for `stack_events`: the first page only.
pub fn first_page(_: &StackEvent) -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackEvent {
    pub id: String,
    pub timestamp: String,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
    /// The physical id: a nested stack's own stack id for an `AWS::CloudFormation::Stack` resource.
    pub physical_id: String,
}

impl StackEvent {
    /// The stack-level event that starts an operation (a create, update, delete or import the user asked
    /// for), after which the operation's events follow.
    pub fn starts_operation(&self, stack: &str) -> bool {
        let own = self.logical_id == stack && self.resource_type == "AWS::CloudFormation::Stack";
        own && matches!(
            self.status.as_str(),
            "CREATE_IN_PROGRESS"
                | "UPDATE_IN_PROGRESS"
                | "DELETE_IN_PROGRESS"
                | "IMPORT_IN_PROGRESS"
                | "REVIEW_IN_PROGRESS"
        )
    }
}

/// Where a drift detection stands (DescribeStackDriftDetectionStatus).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftDetection {
    /// DETECTION_IN_PROGRESS, DETECTION_COMPLETE or DETECTION_FAILED (some resources could not be checked;
    /// the others were).
    pub detection: String,
    pub reason: Option<String>,
    /// DRIFTED, IN_SYNC, UNKNOWN or NOT_CHECKED, once known.
    pub stack: Option<String>,
    pub drifted: u32,
}

/// One property that differs between the template and the live resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyDifference {
    /// A JSON pointer into the resource's properties: `/Tags/0/Value`.
    pub path: String,
    pub expected: String,
    pub actual: String,
    /// ADD, REMOVE or NOT_EQUAL
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceDrift {
    pub logical_id: String,
    pub physical_id: String,
    pub resource_type: String,
    /// IN_SYNC, MODIFIED, DELETED or NOT_CHECKED
    pub status: String,
    pub differences: Vec<PropertyDifference>,
}

/// How CloudFormation rolls a stack set operation out over its instances.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OperationPreferences {
    pub max_concurrent: Option<u32>,
    pub max_concurrent_percent: Option<u32>,
    pub failure_tolerance: Option<u32>,
    pub failure_tolerance_percent: Option<u32>,
    /// The order regions are worked through (the configured `regions`).
    pub region_order: Vec<String>,
    /// SEQUENTIAL or PARALLEL
    pub region_concurrency: Option<String>,
}

/// Where a stack set's instances go: accounts (self-managed) or organizational units (service-managed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstanceTargets {
    pub accounts: Vec<String>,
    pub organizational_units: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StackSetRequest {
    pub name: String,
    pub template_body: String,
    pub template_url: Option<String>,
    pub parameters: Vec<(String, ApiValue)>,
    pub tags: BTreeMap<String, String>,
    pub capabilities: Vec<String>,
    pub description: String,
    /// True: SERVICE_MANAGED (targets are organizational units, with automatic deployment).
    pub service_managed: bool,
    pub administration_role_arn: Option<String>,
    pub execution_role_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StackSetInfo {
    pub name: String,
    pub id: String,
    /// ACTIVE or DELETED
    pub status: String,
    pub template_body: String,
    pub parameters: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

/// One stack instance: where, and how it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackInstance {
    pub account: String,
    pub region: String,
    /// The organizational unit it was deployed through (service-managed).
    pub organizational_unit: Option<String>,
    /// CURRENT, OUTDATED or INOPERABLE
    pub status: String,
    /// PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED, INOPERABLE, SKIPPED_SUSPENDED_ACCOUNT
    pub detailed: Option<String>,
    pub reason: Option<String>,
    /// DRIFTED, IN_SYNC, UNKNOWN or NOT_CHECKED, after a drift detection.
    pub drift: Option<String>,
}

/// What one operation did in one account and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceResult {
    pub account: String,
    pub region: String,
    /// PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED
    pub status: String,
    pub reason: Option<String>,
}

/// Why a call failed, sorted into what the engine decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortError {
    /// "No updates are to be performed" (some endpoints answer CreateChangeSet with this).
    NoChanges,
    /// Throttled after the SDK's retries.
    Throttled { operation: String },
    /// Missing or expired credentials.
    Credentials { message: String },
    /// The endpoint could not be reached.
    Unreachable { endpoint: String, message: String },
    /// Another operation is in progress on the stack.
    InProgress { message: String },
    /// The service answered with something that is not an error it could explain (an HTTP 5xx with no
    /// error code, or a body that does not parse).
    ServiceFault { operation: String, endpoint: String, status: Option<u16> },
    /// Anything else CloudFormation said, with the operation that failed.
    Api { operation: String, code: String, message: String },
}

impl fmt::Display for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortError::NoChanges => write!(f, "no updates are to be performed"),
            PortError::Throttled { operation } => write!(
                f,
                "AWS kept throttling {operation} after several retries; wait a minute or lower --concurrency, then run again"
            ),
            PortError::Credentials { message } => write!(
                f,
                "AWS credentials are missing or expired ({message}); log in again (e.g. `aws sso login`) or pass --profile"
            ),
            PortError::Unreachable { endpoint, message } => {
                write!(f, "cannot reach AWS at {endpoint} ({message}); check the network, --region and --endpoint-url")
            }
            PortError::InProgress { message } => write!(f, "another operation is in progress on the stack: {message}"),
            PortError::ServiceFault { operation, endpoint, status } => {
                let answer = match status {
                    Some(code) => format!("HTTP {code}"),
                    None => "an unreadable response".to_string(),
                };
                let side = match status {
                    Some(code) if *code < 500 => "the answer did not parse as an AWS error (a proxy or a wrong --endpoint-url?)",
                    _ => "this is a fault on the service's side, not in your project",
                };
                write!(
                    f,
                    "{operation} failed: {endpoint} answered {answer} with no error code or message; {side}. \
                     Nothing more was sent: run the same command again in a minute, and if it persists check the \
                     service's health and `stackc status <env>`"
                )
            }
            PortError::Api { operation, code, message } => write!(f, "{operation} failed: {code}: {message}"),
        }
    }
}

/// StackSets: one template rolled out by CloudFormation into many accounts and regions. Part of every
/// CloudFormation port.
pub trait StackSets {
    /// The stack set, or None if there is none (a deleted one counts as none).
    fn describe_stack_set(&self, name: &str) -> Result<Option<StackSetInfo>, PortError>;
    fn create_stack_set(&self, request: &StackSetRequest) -> Result<(), PortError>;
    /// Updates the stack set and every instance; returns the operation's id.
    fn update_stack_set(&self, request: &StackSetRequest, prefs: &OperationPreferences) -> Result<String, PortError>;
    /// Instances in every target x region; returns the operation's id.
    fn create_stack_instances(
        &self,
        name: &str,
        targets: &InstanceTargets,
        regions: &[String],
        prefs: &OperationPreferences,
    ) -> Result<String, PortError>;
    /// Deletes the instances and their stacks; returns the operation's id.
    fn delete_stack_instances(
        &self,
        name: &str,
        targets: &InstanceTargets,
        regions: &[String],
        prefs: &OperationPreferences,
    ) -> Result<String, PortError>;
    /// Asks CloudFormation to stop an operation (instances not yet started are left as they are).
    fn stop_stack_set_operation(&self, name: &str, operation: &str) -> Result<(), PortError>;
    /// RUNNING, SUCCEEDED, FAILED, STOPPING, STOPPED or QUEUED
    fn stack_set_operation(&self, name: &str, operation: &str) -> Result<String, PortError>;
    fn stack_set_operation_results(&self, name: &str, operation: &str) -> Result<Vec<InstanceResult>, PortError>;
    fn stack_instances(&self, name: &str) -> Result<Vec<StackInstance>, PortError>;
    fn delete_stack_set(&self, name: &str) -> Result<(), PortError>;
    /// Starts drift detection on every instance of the stack set; returns the operation's id.
    fn detect_stack_set_drift(&self, name: &str) -> Result<String, PortError>;
    /// What that detection (`operation`) found in one instance, every resource.
    fn stack_instance_resource_drifts(
        &self,
        name: &str,
        account: &str,
        region: &str,
        operation: &str,
    ) -> Result<Vec<ResourceDrift>, PortError>;
    /// Every active stack set of the account (administered from this region), with its tags.
    fn list_stack_sets(&self) -> Result<Vec<StackSetInfo>, PortError>;
}

pub trait CloudFormation: StackSets + Send + Sync {
    /// The stack, or None if there is none with that name (deleted stacks count as none).
    fn describe_stack(&self, name: &str) -> Result<Option<StackInfo>, PortError>;
    /// Returns the change set id.
    fn create_change_set(&self, request: &ChangeSetRequest) -> Result<String, PortError>;
    /// `change_set` is a name (of `stack`'s change sets) or an ARN (a nested stack's change set).
    fn describe_change_set(&self, stack: &str, change_set: &str) -> Result<ChangeSetInfo, PortError>;
    /// `disable_rollback`: a failure keeps what was made (for debugging).
    fn execute_change_set(&self, stack: &str, change_set: &str, disable_rollback: bool) -> Result<(), PortError>;
    fn delete_change_set(&self, stack: &str, change_set: &str) -> Result<(), PortError>;
    /// Newest first, as CloudFormation returns them, page after page until a page holds an event `enough`
    /// accepts (one already seen, the start of an operation) or `MAX_EVENT_PAGES` pages were read.
    fn stack_events(&self, stack: &str, enough: &dyn Fn(&StackEvent) -> bool) -> Result<Vec<StackEvent>, PortError>;
    /// Every stack of the account and region (deleted ones left out), for `prune`.
    fn list_stacks(&self) -> Result<Vec<StackInfo>, PortError>;
    /// The deployed template body (original, not processed). `stack` may be a stack id (a nested stack's).
    fn get_template(&self, stack: &str) -> Result<String, PortError>;
    /// The physical id of one resource of a stack (a nested stack's id), None when it has none.
    fn physical_id(&self, stack: &str, logical_id: &str) -> Result<Option<String>, PortError>;
    fn delete_stack(&self, stack: &str) -> Result<(), PortError>;
    /// Cancels an update in progress; CloudFormation rolls the stack back.
    fn cancel_update_stack(&self, stack: &str) -> Result<(), PortError>;
    /// Continues a rollback that failed (UPDATE_ROLLBACK_FAILED), leaving the `skip` resources as they are
    /// (CloudFormation marks them rolled back without touching them).
    fn continue_update_rollback(&self, stack: &str, skip: &[String]) -> Result<(), PortError>;
    fn set_termination_protection(&self, stack: &str, enabled: bool) -> Result<(), PortError>;
    fn set_stack_policy(&self, stack: &str, body: &str) -> Result<(), PortError>;
    /// Starts drift detection on the stack; returns the detection's id.
    fn detect_drift(&self, stack: &str) -> Result<String, PortError>;
    fn drift_detection(&self, stack: &str, detection: &str) -> Result<DriftDetection, PortError>;
    /// The result of the stack's latest drift detection, every resource (all pages).
    fn resource_drifts(&self, stack: &str) -> Result<Vec<ResourceDrift>, PortError>;
    /// The account of the credentials in use.
    fn account_id(&self) -> Result<String, PortError>;
}
