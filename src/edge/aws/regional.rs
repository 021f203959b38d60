//! One environment may span regions (a layer with its own `region`): CloudFormation calls for a stack go
//! to the client of that stack's region; everything else to the environment's.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use super::cloudformation::AwsCloudFormation;
use super::Aws;
use crate::cfn::pacing;
use crate::cfn::port::*;

pub struct Regional {
    aws: Arc<Aws>,
    home: AwsCloudFormation,
    /// Stack name -> region, for the stacks not in the environment's region (prune adds the ones it finds).
    elsewhere: Mutex<BTreeMap<String, String>>,
    clients: Mutex<HashMap<String, Arc<AwsCloudFormation>>>,
    /// Calls made per stack, for `-v`.
    calls: Mutex<BTreeMap<String, usize>>,
}

impl Regional {
    /// `delegated`: the stack sets called as a delegated administrator.
    pub fn new(
        aws: Arc<Aws>,
        elsewhere: BTreeMap<String, String>,
        delegated: std::collections::BTreeSet<String>,
    ) -> Regional {
        let home = AwsCloudFormation::new(&aws).with_delegated(delegated);
        let elsewhere = Mutex::new(elsewhere);
        Regional { aws, home, elsewhere, clients: Mutex::new(HashMap::new()), calls: Mutex::new(BTreeMap::new()) }
    }

    /// CloudFormation calls made so far for each stack (a paged read counts once).
    pub fn calls(&self) -> BTreeMap<String, usize> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The client for `stack`: its region's, made on first use. Counts the call.
    /// A stack named by its id (a nested stack: `arn:aws:cloudformation:<region>:...`) goes to the region
    /// the id names; a stack named by name, to the region routed for it.
    fn at(&self, stack: &str) -> Option<Arc<AwsCloudFormation>> {
        *self.calls.lock().unwrap_or_else(|e| e.into_inner()).entry(stack.to_string()).or_default() += 1;
        let routed = self.elsewhere.lock().unwrap_or_else(|e| e.into_inner()).get(stack).cloned();
        let region = routed.or_else(|| region_of_stack_id(stack).map(str::to_string))?;
        (region != self.aws.region()).then(|| self.client_in(&region))
    }

    fn client_in(&self, region: &str) -> Arc<AwsCloudFormation> {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        clients
            .entry(region.to_string())
            .or_insert_with(|| Arc::new(AwsCloudFormation::for_region(&self.aws, region)))
            .clone()
    }

    /// The regions other than the environment's that calls go to.
    pub fn regions_elsewhere(&self) -> std::collections::BTreeSet<String> {
        self.elsewhere.lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect()
    }

    /// The stacks of `region` (the environment's own when it is the home region).
    pub fn list_stacks_in(&self, region: &str) -> Result<Vec<StackInfo>, PortError> {
        if region == self.aws.region() {
            return patiently(|| self.home.list_stacks());
        }
        let client = self.client_in(region);
        patiently(|| client.list_stacks())
    }

    /// From now on, calls for `stack` go to `region` (a stack found there by prune).
    pub fn route(&self, stack: &str, region: &str) {
        if region != self.aws.region() {
            self.elsewhere.lock().unwrap_or_else(|e| e.into_inner()).insert(stack.to_string(), region.to_string());
        }
    }
}

/// Calls `$method` on the client of the stack's region, patiently.
macro_rules! routed {
    ($self:ident, $stack:expr, $method:ident($($arg:expr),*)) => {
        patiently(|| match $self.at($stack) {
            Some(c) => c.$method($($arg),*),
            None => $self.home.$method($($arg),*),
        })
    };
}

/// How many more times a call still throttled after the SDK's own retries is tried.
const PATIENCE: u32 = 8;

/// Runs `call` again while CloudFormation throttles it (the account is over a rate that other tools
/// share, so the SDK's few seconds of backoff may not be enough): a wait drawn at random up to 1 s, 2 s,
/// 4 s, ... 20 s (full jitter, so parallel layers spread out), at most `PATIENCE` more times. A throttled
/// call did nothing, so trying it again is safe whatever it is.
pub fn patiently<T>(call: impl Fn() -> Result<T, PortError>) -> Result<T, PortError> {
    patient(call, std::time::Duration::from_secs(1))
}

/// `patiently` with waits of up to `base` x 2^n (at most 20 x `base`).
fn patient<T>(call: impl Fn() -> Result<T, PortError>, base: std::time::Duration) -> Result<T, PortError> {
    let mut tries = 0;
    loop {
        match call() {
            Err(PortError::Throttled { .. }) if tries < PATIENCE && !pacing::giving_up() => {
                std::thread::sleep(base.mul_f64(jitter(tries)));
                tries += 1;
            }
            other => return other,
        }
    }
}

/// A random factor from 0 to min(20, 2^n).
fn jitter(n: u32) -> f64 {
    let cap = (1000u64 << n.min(5)).min(20_000);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    // One step of a xorshift over the clock's nanoseconds and the thread's stack address: good enough
    // to keep parallel callers apart.
    let local = 0u8;
    let mut x = u64::from(nanos) ^ ((&local as *const u8 as u64) << 16) ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    (x % (cap + 1)) as f64 / 1000.0
}

/// The region in a stack id (`arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<guid>`).
fn region_of_stack_id(stack: &str) -> Option<&str> {
    let mut parts = stack.split(':');
    let (arn, _, service, region) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    (arn == "arn" && service == "cloudformation" && !region.is_empty()).then_some(region)
}

impl CloudFormation for Regional {
    fn describe_stack(&self, name: &str) -> Result<Option<StackInfo>, PortError> {
        routed!(self, name, describe_stack(name))
    }
    fn create_change_set(&self, request: &ChangeSetRequest) -> Result<String, PortError> {
        routed!(self, &request.stack_name, create_change_set(request))
    }
    fn describe_change_set(&self, stack: &str, change_set: &str) -> Result<ChangeSetInfo, PortError> {
        routed!(self, stack, describe_change_set(stack, change_set))
    }
    fn execute_change_set(&self, stack: &str, change_set: &str, disable_rollback: bool) -> Result<(), PortError> {
        routed!(self, stack, execute_change_set(stack, change_set, disable_rollback))
    }
    fn delete_change_set(&self, stack: &str, change_set: &str) -> Result<(), PortError> {
        routed!(self, stack, delete_change_set(stack, change_set))
    }
    fn stack_events(&self, stack: &str, enough: &dyn Fn(&StackEvent) -> bool) -> Result<Vec<StackEvent>, PortError> {
        routed!(self, stack, stack_events(stack, enough))
    }
    /// The environment's region and every other region its layers use.
    fn list_stacks(&self) -> Result<Vec<StackInfo>, PortError> {
        let mut all = patiently(|| self.home.list_stacks())?;
        for region in self.regions_elsewhere() {
            let client = self.client_in(&region);
            all.extend(patiently(|| client.list_stacks())?);
        }
        Ok(all)
    }
    fn get_template(&self, stack: &str) -> Result<String, PortError> {
        routed!(self, stack, get_template(stack))
    }
    fn physical_id(&self, stack: &str, logical_id: &str) -> Result<Option<String>, PortError> {
        routed!(self, stack, physical_id(stack, logical_id))
    }
    fn delete_stack(&self, stack: &str) -> Result<(), PortError> {
        routed!(self, stack, delete_stack(stack))
    }
    fn cancel_update_stack(&self, stack: &str) -> Result<(), PortError> {
        routed!(self, stack, cancel_update_stack(stack))
    }

    fn continue_update_rollback(&self, stack: &str, skip: &[String]) -> Result<(), PortError> {
        routed!(self, stack, continue_update_rollback(stack, skip))
    }
    fn set_termination_protection(&self, stack: &str, enabled: bool) -> Result<(), PortError> {
        routed!(self, stack, set_termination_protection(stack, enabled))
    }
    fn set_stack_policy(&self, stack: &str, body: &str) -> Result<(), PortError> {
        routed!(self, stack, set_stack_policy(stack, body))
    }
    fn detect_drift(&self, stack: &str) -> Result<String, PortError> {
        routed!(self, stack, detect_drift(stack))
    }
    fn drift_detection(&self, stack: &str, detection: &str) -> Result<DriftDetection, PortError> {
        routed!(self, stack, drift_detection(stack, detection))
    }
    fn resource_drifts(&self, stack: &str) -> Result<Vec<ResourceDrift>, PortError> {
        routed!(self, stack, resource_drifts(stack))
    }
    fn account_id(&self) -> Result<String, PortError> {
        self.home.account_id()
    }
}

/// Stack sets are administered from the environment's region; their instances go where they say.
impl StackSets for Regional {
    fn describe_stack_set(&self, name: &str) -> Result<Option<StackSetInfo>, PortError> {
        self.home.describe_stack_set(name)
    }
    fn create_stack_set(&self, request: &StackSetRequest) -> Result<(), PortError> {
        self.home.create_stack_set(request)
    }
    fn update_stack_set(&self, request: &StackSetRequest, prefs: &OperationPreferences) -> Result<String, PortError> {
        self.home.update_stack_set(request, prefs)
    }
    fn create_stack_instances(
        &self,
        name: &str,
        targets: &InstanceTargets,
        regions: &[String],
        prefs: &OperationPreferences,
    ) -> Result<String, PortError> {
        self.home.create_stack_instances(name, targets, regions, prefs)
    }
    fn delete_stack_instances(
        &self,
        name: &str,
        targets: &InstanceTargets,
        regions: &[String],
        prefs: &OperationPreferences,
    ) -> Result<String, PortError> {
        self.home.delete_stack_instances(name, targets, regions, prefs)
    }
    fn stop_stack_set_operation(&self, name: &str, operation: &str) -> Result<(), PortError> {
        self.home.stop_stack_set_operation(name, operation)
    }
    fn stack_set_operation(&self, name: &str, operation: &str) -> Result<String, PortError> {
        self.home.stack_set_operation(name, operation)
    }
    fn stack_set_operation_results(&self, name: &str, operation: &str) -> Result<Vec<InstanceResult>, PortError> {
        self.home.stack_set_operation_results(name, operation)
    }
    fn stack_instances(&self, name: &str) -> Result<Vec<StackInstance>, PortError> {
        self.home.stack_instances(name)
    }
    fn delete_stack_set(&self, name: &str) -> Result<(), PortError> {
        self.home.delete_stack_set(name)
    }
    fn detect_stack_set_drift(&self, name: &str) -> Result<String, PortError> {
        self.home.detect_stack_set_drift(name)
    }
    fn stack_instance_resource_drifts(
        &self,
        name: &str,
        account: &str,
        region: &str,
        operation: &str,
    ) -> Result<Vec<ResourceDrift>, PortError> {
        self.home.stack_instance_resource_drifts(name, account, region, operation)
    }
    fn list_stack_sets(&self) -> Result<Vec<StackSetInfo>, PortError> {
        self.home.list_stack_sets()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_stack_id_names_its_region() {
        let id = "arn:aws:cloudformation:eu-west-1:123456789012:stack/app-qa-db-Child-1X/6a1b";
        assert_eq!(region_of_stack_id(id), Some("eu-west-1"));
        assert_eq!(region_of_stack_id("arn:aws-cn:cloudformation:cn-north-1:1:stack/x/y"), Some("cn-north-1"));
        assert_eq!(region_of_stack_id("app-qa-db"), None);
        assert_eq!(region_of_stack_id("arn:aws:s3:::bucket"), None);
    }

    #[test]
    fn a_throttled_call_is_tried_again_until_it_goes_through_or_patience_runs_out() {
        let calls = Cell::new(0);
        let through = patient(
            || {
                calls.set(calls.get() + 1);
                if calls.get() < 4 {
                    Err(PortError::Throttled { operation: "DescribeStacks".into() })
                } else {
                    Ok("described")
                }
            },
            std::time::Duration::from_millis(1),
        );
        assert_eq!((through, calls.get()), (Ok("described"), 4));
        calls.set(0);
        let never = patient(
            || -> Result<(), PortError> {
                calls.set(calls.get() + 1);
                Err(PortError::Throttled { operation: "CreateChangeSet".into() })
            },
            std::time::Duration::from_millis(1),
        );
        assert!(matches!(never, Err(PortError::Throttled { .. })));
        assert_eq!(calls.get(), 1 + PATIENCE as usize);
        calls.set(0);
        let other = patient(
            || -> Result<(), PortError> {
                calls.set(calls.get() + 1);
                Err(PortError::NoChanges)
            },
            std::time::Duration::from_millis(1),
        );
        assert_eq!((other, calls.get()), (Err(PortError::NoChanges), 1), "only throttling is tried again");
    }

    #[test]
    fn waits_are_spread_and_capped() {
        let waits: Vec<f64> = (0..40).map(|i| jitter(i % 8)).collect();
        assert!(waits.iter().all(|w| (0.0..=20.0).contains(w)));
        assert!(waits.windows(2).any(|w| w[0] != w[1]), "{waits:?}");
        assert!((0..20).map(|_| jitter(0)).all(|w| w <= 1.0));
    }
}
