"""Correction 24 (intrinsics) of moto_shim.py: the intrinsic functions as AWS documents them where moto
differs.

- Fn::Cidr [ipBlock, count, cidrBits]: AWS returns `count` consecutive address blocks from the start of
  ipBlock, each with `cidrBits` host bits (a /16 with cidrBits 8 gives /24s); count is 1 to 256, and the
  blocks must fit in ipBlock. moto has no Fn::Cidr: it passes the mapping on, and the Fn::Select around it
  fails with a bare KeyError ("1") as the resource's reason.
- Fn::GetAZs: AWS resolves its argument (`""` or `!Ref AWS::Region`: the stack's own region) and returns
  that region's Availability Zones in alphabetical order. moto answers us-east-1's for `""` whatever the
  stack's region, and does not resolve `!Ref AWS::Region` (the zone names come out as a Python dict).
  Zones come from moto's own table of regions and zones (what DescribeAvailabilityZones answers).

- A short-form tag on a mapping (`!Base64 {"Fn::Join": [...]}`, `!GetAZs {Ref: "AWS::Region"}`,
  `!ToJsonString {...}`): AWS reads the mapping; moto's YAML constructor hands on the parser's raw node pairs,
  so the function gets a list of YAML nodes (Base64 fails, GetAZs names no region). moto registers its
  constructor anew before each parse by its module name, so replacing that name is enough.

Correction 25 (attributes), here too because it rides on the same function: `Fn::GetAtt` of an attribute
AWS documents but moto's model does not answer (a subnet's AvailabilityZone, say) comes out of moto as the
unresolved mapping, which then prints as its Python repr in an output or a property. Where moto's model
holds the value under the attribute's snake_case name (`availability_zone`), we answer it.

moto resolves everything through parsing.clean_json and calls it recursively by its module name, so one
wrapper there covers properties, outputs and nested uses.
"""

import ipaddress

import yaml
from moto.cloudformation import models, parsing, responses
from moto.cloudformation import utils as moto_utils
from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend

_original_clean_json = parsing.clean_json


def cidr_blocks(block, count, bits):
    """Fn::Cidr's answer, or ValueError with the reason CloudFormation would give."""
    try:
        network = ipaddress.ip_network(str(block), strict=False)
        count, bits = int(count), int(bits)
    except ValueError as error:
        raise ValueError(f"Template error: Fn::Cidr: {error}") from None
    if not 1 <= count <= 256:
        raise ValueError(f"Template error: Fn::Cidr count must be between 1 and 256, not {count}")
    prefix = network.max_prefixlen - bits
    if bits < 1 or prefix < network.prefixlen:
        raise ValueError(f"Template error: Fn::Cidr cidrBits {bits} does not fit in {network}")
    blocks = []
    for subnet in network.subnets(new_prefix=prefix):
        if len(blocks) == count:
            break
        blocks.append(str(subnet))
    if len(blocks) < count:
        raise ValueError(f"Template error: Fn::Cidr cannot make {count} blocks of /{prefix} in {network}")
    return blocks


def zones_of(region):
    if not isinstance(region, str):
        raise ValueError(f"Template error: Fn::GetAZs takes a region name, not {region!r}")
    return sorted(z.name for z in RegionsAndZonesBackend.zones.get(region, []))


def _snake(name):
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


def _attribute(resource_json, resources_map, answered):
    """Correction 25: moto's answer, or the model's field of the attribute's snake_case name."""
    if not (isinstance(answered, dict) and "Fn::GetAtt" in answered):
        return answered
    target = resource_json["Fn::GetAtt"]
    if isinstance(target, str):
        target = target.split(".", 1)
    resource = resources_map.get(target[0])
    value = getattr(resource, _snake(str(target[1])), None) if len(target) == 2 else None
    return value if isinstance(value, (str, int)) else answered


def clean_json(resource_json, resources_map):
    if isinstance(resource_json, dict) and len(resource_json) == 1:
        if "Fn::GetAtt" in resource_json:
            return _attribute(resource_json, resources_map, _original_clean_json(resource_json, resources_map))
        if "Fn::Cidr" in resource_json:
            block, count, bits = [clean_json(x, resources_map) for x in resource_json["Fn::Cidr"]]
            return cidr_blocks(block, count, bits)
        if "Fn::GetAZs" in resource_json:
            region = clean_json(resource_json["Fn::GetAZs"], resources_map) or resources_map._region_name
            return zones_of(region)
    return _original_clean_json(resource_json, resources_map)


def yaml_tag_constructor(loader, tag, node):
    if isinstance(node, yaml.MappingNode):
        key = "Ref" if tag == "!Ref" else f"Fn::{tag[1:]}"
        return {key: loader.construct_mapping(node, deep=True)}
    return _original_tag_constructor(loader, tag, node)


_original_tag_constructor = moto_utils.yaml_tag_constructor


def install():
    parsing.clean_json = clean_json
    models.yaml_tag_constructor = yaml_tag_constructor
    responses.yaml_tag_constructor = yaml_tag_constructor
