//! How long CloudFormation typically spends on a resource type, and so how often an operation in progress
//! is worth a look: often while it is young, rarely while only slow resources (a database, a distribution)
//! are being made, never so rarely that its end is seen much later than it happened.

use std::collections::BTreeMap;
use std::time::Duration;

use super::port::StackEvent;

/// Typical seconds to create one resource of a type on AWS (an update takes about as long, a delete
/// about half); types not listed take a few seconds.
const TYPICAL: &[(&str, u64)] = &[
    ("AWS::CertificateManager::Certificate", 60),
    ("AWS::CloudFront::Distribution", 300),
    ("AWS::DocDB::DBCluster", 600),
    ("AWS::EC2::NatGateway", 90),
    ("AWS::ECS::Service", 120),
    ("AWS::EKS::Cluster", 600),
    ("AWS::EKS::Nodegroup", 300),
    ("AWS::ElastiCache::CacheCluster", 420),
    ("AWS::ElastiCache::ReplicationGroup", 600),
    ("AWS::Elasticsearch::Domain", 900),
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", 180),
    ("AWS::OpenSearchService::Domain", 900),
    ("AWS::RDS::DBCluster", 300),
    ("AWS::RDS::DBInstance", 600),
    ("AWS::Redshift::Cluster", 600),
    ("AWS::SQS::Queue", 60),
];

pub fn typical(resource_type: &str) -> Duration {
    let secs = TYPICAL.iter().find(|(t, _)| *t == resource_type).map_or(5, |(_, s)| *s);
    Duration::from_secs(secs)
}

/// A type that takes a minute or more.
fn slow(resource_type: &str) -> bool {
    typical(resource_type) >= Duration::from_secs(60)
}

/// The longest look-again wait while only slow types are in progress.
const SLOW_CAP: Duration = Duration::from_secs(30);

/// Follows one stack operation's resource events and says when to look again.
#[derive(Debug, Clone)]
pub struct Pacer {
    floor: Duration,
    cap: Duration,
    /// Resources with a step in progress: logical id -> type.
    in_flight: BTreeMap<String, String>,
}

impl Pacer {
    /// Waits of at least `floor` and, unless only slow types are in progress, at most `cap`.
    pub fn new(floor: Duration, cap: Duration) -> Pacer {
        Pacer { floor, cap, in_flight: BTreeMap::new() }
    }

    /// An event of the operation, oldest first.
    pub fn saw(&mut self, stack: &str, e: &StackEvent) {
        if e.logical_id == stack && e.resource_type == "AWS::CloudFormation::Stack" {
            return;
        }
        if e.status.ends_with("_IN_PROGRESS") {
            self.in_flight.insert(e.logical_id.clone(), e.resource_type.clone());
        } else {
            self.in_flight.remove(&e.logical_id);
        }
    }

    /// The wait before the next look, `elapsed` into the operation: a twentieth of the time it has run
    /// (so its end is seen at most ~5% late), at least the floor and at most the cap. While only slow
    /// types are in progress and the operation has run a minute (AWS time, not an emulator's), the cap
    /// grows to a twentieth of the quickest in-flight type's typical time, up to 30 s.
    pub fn next(&self, elapsed: Duration) -> Duration {
        let proportional = elapsed.mul_f64(0.05);
        let quickest = self.in_flight.values().map(|t| typical(t)).min();
        let cap = match quickest {
            Some(q) if elapsed >= Duration::from_secs(60) && self.in_flight.values().all(|t| slow(t)) => {
                q.mul_f64(0.05).clamp(self.cap, SLOW_CAP.max(self.cap))
            }
            _ => self.cap,
        };
        proportional.clamp(self.floor.min(cap), cap)
    }
}

/// The stack's own event that ends an operation (CREATE_COMPLETE, UPDATE_ROLLBACK_COMPLETE, ...).
pub fn ends_operation(stack: &str, e: &StackEvent) -> bool {
    e.logical_id == stack && e.resource_type == "AWS::CloudFormation::Stack" && !e.status.ends_with("_IN_PROGRESS")
}

/// Set when the run is stopping (an interrupt discarding what it made): a call CloudFormation throttled
/// did nothing, so it is not tried again, and whoever waits on it hears back at once.
static GIVING_UP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn give_up() {
    GIVING_UP.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Retry throttled calls again (the cleanup's own deletions must get through).
pub fn resume() {
    GIVING_UP.store(false, std::sync::atomic::Ordering::SeqCst);
}

pub fn giving_up() -> bool {
    GIVING_UP.load(std::sync::atomic::Ordering::SeqCst)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(logical: &str, ty: &str, status: &str) -> StackEvent {
        StackEvent {
            id: format!("{logical}-{status}"),
            timestamp: String::new(),
            logical_id: logical.into(),
            resource_type: ty.into(),
            status: status.into(),
            reason: None,
            physical_id: String::new(),
        }
    }

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn a_young_operation_is_looked_at_often_and_an_old_one_at_a_twentieth_of_its_age() {
        let p = Pacer::new(Duration::from_millis(50), 5 * S);
        assert_eq!(p.next(Duration::ZERO), Duration::from_millis(50));
        assert_eq!(p.next(4 * S), Duration::from_millis(200));
        assert_eq!(p.next(40 * S), 2 * S);
        assert_eq!(p.next(3600 * S), 5 * S, "never more than the cap");
    }

    #[test]
    fn only_slow_resources_in_progress_stretch_the_cap_after_a_minute() {
        let mut p = Pacer::new(Duration::from_millis(50), 5 * S);
        p.saw("st", &event("st", "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS"));
        p.saw("st", &event("Db", "AWS::RDS::DBInstance", "CREATE_IN_PROGRESS"));
        assert_eq!(p.next(30 * S), Duration::from_millis(1500), "young: the twentieth rule");
        assert_eq!(p.next(600 * S), 30 * S, "a database alone, ten minutes in: every 30 s");
        p.saw("st", &event("Param", "AWS::SSM::Parameter", "CREATE_IN_PROGRESS"));
        assert_eq!(p.next(600 * S), 5 * S, "a quick resource is in progress too: the usual cap");
        p.saw("st", &event("Param", "AWS::SSM::Parameter", "CREATE_COMPLETE"));
        p.saw("st", &event("Q", "AWS::SQS::Queue", "CREATE_IN_PROGRESS"));
        assert_eq!(p.next(600 * S), 5 * S, "a queue's minute allows no more than the usual cap");
        p.saw("st", &event("Db", "AWS::RDS::DBInstance", "CREATE_COMPLETE"));
        p.saw("st", &event("Q", "AWS::SQS::Queue", "CREATE_COMPLETE"));
        assert_eq!(p.next(600 * S), 5 * S);
    }

    #[test]
    fn the_stack_s_own_final_event_ends_the_operation() {
        assert!(ends_operation("st", &event("st", "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_COMPLETE")));
        assert!(!ends_operation(
            "st",
            &event("st", "AWS::CloudFormation::Stack", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        ));
        assert!(
            !ends_operation("st", &event("Child", "AWS::CloudFormation::Stack", "CREATE_COMPLETE")),
            "a nested stack"
        );
        assert!(typical("AWS::RDS::DBInstance") > typical("AWS::EC2::VPC"));
    }
}
