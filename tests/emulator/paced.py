"""Time and rate for the emulator: corrections 21-23 of moto_shim.py keep their clock and buckets here.

moto does everything at once and never refuses a caller. AWS takes minutes over a database and answers
`Throttling: Rate exceeded` to an account that calls one API too often. `--pace FACTOR` makes each resource
step take its typical AWS time times FACTOR; `--throttle RATE` refuses calls above RATE per second per API.
"""

import threading
import time

PACE = 0.0
THROTTLE = 0.0

# Typical seconds CloudFormation spends creating one resource of a type (an update takes as long, a delete
# half). From AWS's documentation and measured deploys: an RDS instance ~10 minutes, a CloudFront
# distribution ~5, an SQS queue ~1 (CloudFormation waits for it to settle), a VPC ~15 s, a parameter ~2 s.
SECONDS = {
    "AWS::RDS::DBInstance": 600,
    "AWS::RDS::DBCluster": 300,
    "AWS::ElastiCache::CacheCluster": 420,
    "AWS::EKS::Cluster": 600,
    "AWS::CloudFront::Distribution": 300,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": 180,
    "AWS::ECS::Service": 120,
    "AWS::EC2::NatGateway": 90,
    "AWS::CertificateManager::Certificate": 60,
    "AWS::SQS::Queue": 60,
    "AWS::S3::Bucket": 20,
    "AWS::EC2::VPC": 15,
    "AWS::IAM::Role": 15,
    "AWS::EC2::InternetGateway": 10,
    "AWS::Lambda::Function": 10,
    "AWS::EC2::Subnet": 5,
    "AWS::EC2::SecurityGroup": 5,
    "AWS::SNS::Topic": 2,
    "AWS::SSM::Parameter": 2,
    "AWS::Logs::LogGroup": 2,
    "AWS::CloudFormation::Stack": 0,  # its own resources take the time
}
DEFAULT_SECONDS = 5
# A change set takes a few seconds to create (CREATE_PENDING, CREATE_IN_PROGRESS, CREATE_COMPLETE).
CHANGE_SET_SECONDS = 5


class Cancelled(Exception):
    """The stack's update was cancelled (CancelUpdateStack) while this resource was being worked on."""

    def __init__(self, verb="UPDATE"):
        self.message = "Resource creation cancelled" if verb == "CREATE" else "Resource update cancelled"
        super().__init__(self.message)


def seconds(resource_type, verb):
    base = SECONDS.get(resource_type, DEFAULT_SECONDS)
    return base / 2 if verb == "DELETE" else base


def wait(stack, resource_type, verb):
    """Sleeps one resource step's time (times PACE), in short slices so a cancelled update stops at once."""
    end = time.monotonic() + seconds(resource_type, verb) * PACE
    while True:
        if getattr(stack, "stackc_cancel", False):
            raise Cancelled(verb)
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.05))


_buckets = {}
_lock = threading.Lock()


def take(action):
    """One call of `action`: False when it is over THROTTLE per second (a token bucket of THROTTLE tokens)."""
    if THROTTLE <= 0:
        return True
    now = time.monotonic()
    with _lock:
        tokens, then = _buckets.get(action, (THROTTLE, now))
        tokens = min(THROTTLE, tokens + (now - then) * THROTTLE)
        if tokens < 1:
            _buckets[action] = (tokens, now)
            return False
        _buckets[action] = (tokens - 1, now)
        return True


def configure(argv):
    """Reads `--pace FACTOR` and `--throttle RATE` from argv; returns the rest."""
    global PACE, THROTTLE
    rest = []
    args = iter(argv)
    for arg in args:
        if arg == "--pace":
            PACE = float(next(args))
        elif arg == "--throttle":
            THROTTLE = float(next(args))
        else:
            rest.append(arg)
    return rest
