//! Checks of what systems put in template values: EventBridge schedules, CIDR blocks that must not
//! overlap within a VPC, port numbers. Declared in stackc.toml `[checks]` by key path (`*` = every item).
//! The template's own parameter constraints are `cfn::constraints`', CloudFormation's rules `cfn::lint`'s;
//! `validate` runs them all.

use serde::Deserialize;
use serde_json::{Map, Value as Json};

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Checks {
    /// Each value is an IPv4 CIDR block.
    #[serde(default)]
    pub cidr: Vec<String>,
    /// Groups `[vpc, subnets...]`: every subnet CIDR lies inside the VPC's and no two overlap.
    #[serde(default)]
    pub subnets: Vec<Vec<String>>,
    /// Each value is an EventBridge schedule: cron(...), rate(...) or at(...).
    #[serde(default)]
    pub schedule: Vec<String>,
    /// Each value is a TCP/UDP port (1-65535).
    #[serde(default)]
    pub port: Vec<String>,
}

/// The values at a key path, with their concrete paths (`tasks.2.cron`).
pub fn lookup<'a>(ctx: &'a Map<String, Json>, path: &str) -> Vec<(String, &'a Json)> {
    fn walk<'a>(v: &'a Json, segs: &[&str], at: String, out: &mut Vec<(String, &'a Json)>) {
        let Some((first, rest)) = segs.split_first() else {
            out.push((at, v));
            return;
        };
        let join = |k: &str| if at.is_empty() { k.to_string() } else { format!("{at}.{k}") };
        match (v, *first) {
            (Json::Array(items), "*") => {
                items.iter().enumerate().for_each(|(i, x)| walk(x, rest, join(&i.to_string()), out))
            }
            (Json::Object(m), "*") => m.iter().for_each(|(k, x)| walk(x, rest, join(k), out)),
            (Json::Array(items), idx) => {
                if let Some(x) = idx.parse::<usize>().ok().and_then(|i| items.get(i)) {
                    walk(x, rest, join(idx), out)
                }
            }
            (Json::Object(m), key) => {
                if let Some(x) = m.get(key) {
                    walk(x, rest, join(key), out)
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    let segs: Vec<&str> = path.split('.').collect();
    let root = ctx;
    if let Some((first, rest)) = segs.split_first() {
        if *first == "*" {
            for (k, v) in root {
                walk(v, rest, k.clone(), &mut out);
            }
        } else if let Some(v) = root.get(*first) {
            walk(v, rest, first.to_string(), &mut out);
        }
    }
    out
}

fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every problem found: (key path, message).
pub fn run(checks: &Checks, ctx: &Map<String, Json>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for path in &checks.cidr {
        for (at, v) in lookup(ctx, path) {
            let items: Vec<(String, &Json)> = match v {
                Json::Array(a) => a.iter().enumerate().map(|(i, x)| (format!("{at}.{i}"), x)).collect(),
                other => vec![(at.clone(), other)],
            };
            for (at, x) in items {
                if let Err(e) = parse_cidr(&text(x)) {
                    out.push((at, e));
                }
            }
        }
    }
    for group in &checks.subnets {
        let Some((vpc_path, rest)) = group.split_first() else { continue };
        let vpc = lookup(ctx, vpc_path).first().map(|(at, v)| (at.clone(), text(v)));
        let vpc_net = vpc.as_ref().and_then(|(_, c)| parse_cidr(c).ok());
        let mut nets: Vec<(String, String, Block)> = Vec::new();
        for p in rest {
            for (at, v) in lookup(ctx, p) {
                let items: Vec<(String, String)> = match v {
                    Json::Array(a) => a.iter().enumerate().map(|(i, x)| (format!("{at}.{i}"), text(x))).collect(),
                    other => vec![(at.clone(), text(other))],
                };
                for (at, c) in items {
                    match parse_cidr(&c) {
                        Ok(n) => nets.push((at, c, n)),
                        Err(e) => out.push((at, e)),
                    }
                }
            }
        }
        for (at, c, n) in &nets {
            if let (Some(v), Some((vat, vc))) = (vpc_net, &vpc) {
                // An IPv6 subnet of a dual-stack VPC is checked against the VPC's IPv6 block, not this one.
                if v.v6 == n.v6 && !contains(v, *n) {
                    out.push((at.clone(), format!("`{c}` is not inside the VPC's {vc} (`{vat}`)")));
                }
            }
        }
        for i in 0..nets.len() {
            for j in i + 1..nets.len() {
                if overlaps(nets[i].2, nets[j].2) {
                    out.push((
                        nets[j].0.clone(),
                        format!("`{}` overlaps `{}` (`{}`)", nets[j].1, nets[i].1, nets[i].0),
                    ));
                }
            }
        }
    }
    for path in &checks.schedule {
        for (at, v) in lookup(ctx, path) {
            if let Err(e) = schedule(&text(v)) {
                out.push((at, format!("`{}` is not a valid EventBridge schedule: {e}", text(v))));
            }
        }
    }
    for path in &checks.port {
        for (at, v) in lookup(ctx, path) {
            let ok = match v {
                Json::Number(n) => n.as_u64().is_some_and(|p| (1..=65535).contains(&p)),
                Json::String(s) => s.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p)),
                _ => false,
            };
            if !ok {
                out.push((at, format!("`{}` is not a port (1-65535)", text(v))));
            }
        }
    }
    out
}

/// A CIDR block: the family, its network address (IPv4 in the low 32 bits) and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub v6: bool,
    pub addr: u128,
    pub len: u32,
}

impl Block {
    fn bits(&self) -> u32 {
        if self.v6 {
            128
        } else {
            32
        }
    }

    fn range(&self) -> (u128, u128) {
        let host = self.bits() - self.len;
        let size_minus_one = if host == 128 { u128::MAX } else { (1u128 << host) - 1 };
        (self.addr, self.addr + size_minus_one)
    }

    fn show(&self, addr: u128) -> String {
        if self.v6 {
            format!("{}/{}", std::net::Ipv6Addr::from(addr), self.len)
        } else {
            format!("{}/{}", std::net::Ipv4Addr::from(addr as u32), self.len)
        }
    }
}

/// An IPv4 (`a.b.c.d/n`) or IPv6 (`2001:db8::/56`) CIDR block, with no host bits set.
pub fn parse_cidr(s: &str) -> Result<Block, String> {
    let (ip, len) = s
        .split_once('/')
        .ok_or_else(|| format!("`{s}` is not a CIDR block (a.b.c.d/n, or an IPv6 block like 2001:db8::/56)"))?;
    let (v6, addr): (bool, u128) = if ip.contains(':') {
        let a: std::net::Ipv6Addr = ip.parse().map_err(|_| format!("`{s}`: `{ip}` is not an IPv6 address"))?;
        (true, u128::from(a))
    } else {
        // Strict dotted quad: four decimal octets (no octal or shortened forms).
        let octets: Vec<u32> = ip
            .split('.')
            .map(|o| {
                o.parse::<u32>().ok().filter(|x| *x <= 255 && o.len() <= 3 && !(o.len() > 1 && o.starts_with('0')))
            })
            .collect::<Option<Vec<_>>>()
            .filter(|v| v.len() == 4)
            .ok_or_else(|| format!("`{s}` is not a CIDR block (a.b.c.d/n, or an IPv6 block like 2001:db8::/56)"))?;
        (false, octets.iter().fold(0u32, |a, o| (a << 8) | o) as u128)
    };
    let max = if v6 { 128 } else { 32 };
    let len: u32 =
        len.parse().ok().filter(|l| *l <= max).ok_or_else(|| format!("`{s}`: the prefix length must be 0-{max}"))?;
    let block = Block { v6, addr, len };
    let host = max - len;
    let host_mask = if host == 128 { u128::MAX } else { (1u128 << host) - 1 };
    if addr & host_mask != 0 {
        return Err(format!("`{s}` has host bits set; the block is {}", block.show(addr & !host_mask)));
    }
    Ok(block)
}

fn overlaps(a: Block, b: Block) -> bool {
    let ((a0, a1), (b0, b1)) = (a.range(), b.range());
    a.v6 == b.v6 && a0 <= b1 && b0 <= a1
}

fn contains(outer: Block, inner: Block) -> bool {
    let ((o0, o1), (i0, i1)) = (outer.range(), inner.range());
    outer.v6 == inner.v6 && o0 <= i0 && i1 <= o1
}

/// An EventBridge (Scheduler or rule) schedule expression.
pub fn schedule(s: &str) -> Result<(), String> {
    let s = s.trim();
    if let Some(body) = s.strip_prefix("rate(").and_then(|b| b.strip_suffix(')')) {
        return rate(body);
    }
    if let Some(body) = s.strip_prefix("at(").and_then(|b| b.strip_suffix(')')) {
        return at(body);
    }
    let body =
        s.strip_prefix("cron(").and_then(|b| b.strip_suffix(')')).ok_or("use cron(...), rate(...) or at(...)")?;
    cron(body)
}

/// `rate(<value> <unit>)`: a positive whole number and a unit, singular for 1.
fn rate(body: &str) -> Result<(), String> {
    let (n, unit) = body.trim().split_once(' ').ok_or("rate needs `rate(<value> <unit>)`")?;
    let n: u64 = n.parse().ok().filter(|n| *n > 0).ok_or("the rate's value must be a positive whole number")?;
    let singular = ["minute", "hour", "day"];
    let plural = ["minutes", "hours", "days"];
    let unit = unit.trim();
    if n == 1 && !singular.contains(&unit) {
        return Err(format!("a rate of 1 takes a singular unit (minute, hour or day), not `{unit}`"));
    }
    if n > 1 && !plural.contains(&unit) {
        return Err(format!("a rate of {n} takes a plural unit (minutes, hours or days), not `{unit}`"));
    }
    Ok(())
}

/// `at(yyyy-mm-ddThh:mm:ss)`: a date that exists and a time of day.
fn at(body: &str) -> Result<(), String> {
    let shaped = body.len() == 19
        && body.chars().enumerate().all(|(i, c)| match i {
            4 | 7 => c == '-',
            10 => c == 'T',
            13 | 16 => c == ':',
            _ => c.is_ascii_digit(),
        });
    if !shaped {
        return Err("at() takes yyyy-mm-ddThh:mm:ss".into());
    }
    let n = |r: std::ops::Range<usize>| body[r].parse::<u32>().unwrap_or(0);
    let (year, month, day, hour, minute, second) = (n(0..4), n(5..7), n(8..10), n(11..13), n(14..16), n(17..19));
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(format!("at(): month {month} is not 1-12")),
    };
    if day == 0 || day > days {
        return Err(format!("at(): {year}-{month:02} has no day {day}"));
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(format!("at(): {hour:02}:{minute:02}:{second:02} is not a time of day"));
    }
    Ok(())
}

/// The six fields of a cron expression, each in its range; exactly one day field is `?`.
const CRON_FIELDS: [(&str, u32, u32); 6] = [
    ("minutes", 0, 59),
    ("hours", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 1, 7),
    ("year", 1970, 2199),
];

fn cron(body: &str) -> Result<(), String> {
    let fields: Vec<&str> = body.split_whitespace().collect();
    if fields.len() != 6 {
        return Err(format!(
            "cron takes 6 fields (minutes hours day-of-month month day-of-week year), found {}",
            fields.len()
        ));
    }
    let (dom, dow) = (fields[2], fields[4]);
    if (dom == "?") == (dow == "?") {
        return Err("exactly one of day-of-month and day-of-week must be `?`".into());
    }
    for (i, field) in fields.iter().enumerate() {
        if *field == "*" || (*field == "?" && (i == 2 || i == 4)) {
            continue;
        }
        for part in field.split(',') {
            cron_part(i, part)?;
        }
    }
    Ok(())
}

/// One comma-separated part of cron field `i`: a value, a range or `*`, with an optional `/step`.
fn cron_part(i: usize, part: &str) -> Result<(), String> {
    let name = CRON_FIELDS[i].0;
    let (base, step) = match part.split_once('/') {
        Some((b, st)) => (b, Some(st)),
        None => (part, None),
    };
    if let Some(st) = step {
        if st.parse::<u32>().ok().filter(|x| *x > 0).is_none() {
            return Err(format!("{name}: `{part}` has a bad increment"));
        }
    }
    if base == "*" {
        return Ok(());
    }
    match base.split_once('-') {
        Some((a, b)) => {
            cron_value(i, a)?;
            cron_value(i, b)?;
        }
        None => {
            cron_value(i, base)?;
        }
    }
    Ok(())
}

/// One value of cron field `i`: a number in range, a month or day name, or `L`/`W`/`#` forms.
fn cron_value(i: usize, v: &str) -> Result<u32, String> {
    const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    let (name, lo, hi) = CRON_FIELDS[i];
    let upper = v.to_ascii_uppercase();
    if i == 3 {
        if let Some(m) = MONTHS.iter().position(|x| *x == upper) {
            return Ok(m as u32 + 1);
        }
    }
    if i == 4 {
        let day = upper.split('#').next().unwrap_or_default();
        if let Some(d) = DAYS.iter().position(|x| *x == day) {
            return Ok(d as u32 + 1);
        }
    }
    let digits = v.trim_end_matches(['L', 'W']).split('#').next().unwrap_or_default();
    if (i == 2 && (v == "L" || v == "LW")) || (i == 4 && v == "L") {
        return Ok(lo);
    }
    let n: u32 = digits.parse().map_err(|_| format!("{name}: `{v}` is not a value"))?;
    if n < lo || n > hi {
        return Err(format!("{name} must be {lo}-{hi}, found {n}"));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules() {
        for ok in [
            "cron(0 12 * * ? *)",
            "cron(15 10 ? * MON-FRI *)",
            "cron(0/5 8-17 ? * 2-6 *)",
            "cron(0 18 L * ? 2027)",
            "cron(0 9 ? * 6#3 *)",
            "rate(1 hour)",
            "rate(5 minutes)",
            "at(2026-12-01T09:00:00)",
            "at(2028-02-29T23:59:59)",
        ] {
            assert_eq!(schedule(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("cron(0 25 * * ? *)", "hours must be 0-23"),
            ("cron(0 12 * * * *)", "exactly one of"),
            ("cron(0 12 * * ?)", "6 fields"),
            ("rate(1 hours)", "singular"),
            ("rate(0 minutes)", "positive"),
            ("every day", "use cron"),
            ("cron(0 12 ? * FUNDAY *)", "not a value"),
            ("at(2026-02-30T09:00:00)", "2026-02 has no day 30"),
            ("at(2027-02-29T09:00:00)", "has no day 29"),
            ("at(2026-13-01T09:00:00)", "month 13"),
            ("at(2026-12-01T24:00:00)", "not a time of day"),
            ("at(2026-12-01 09:00:00)", "yyyy-mm-ddThh:mm:ss"),
        ] {
            let e = schedule(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn cidrs_overlap_and_containment() {
        assert_eq!(parse_cidr("10.0.0.0/16"), Ok(Block { v6: false, addr: 0x0a000000, len: 16 }));
        assert!(parse_cidr("010.0.0.0/16").is_err() && parse_cidr("10.0.0/16").is_err());
        assert!(parse_cidr("10.0.0.1/16").unwrap_err().contains("the block is 10.0.0.0/16"));
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("300.0.0.0/8").is_err());
        let ctx: Map<String, Json> = serde_json::from_str(r#"{"vpc": "10.0.0.0/16", "public": ["10.0.0.0/24", "10.0.1.0/24"], "private": ["10.0.0.128/25", "10.1.0.0/24"]}"#).unwrap();
        let checks =
            Checks { subnets: vec![vec!["vpc".into(), "public".into(), "private".into()]], ..Default::default() };
        let found = run(&checks, &ctx);
        assert!(
            found.iter().any(|(at, m)| at == "private.0" && m.contains("overlaps `10.0.0.0/24` (`public.0`)")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|(at, m)| at == "private.1" && m.contains("not inside the VPC's 10.0.0.0/16")),
            "{found:?}"
        );
        assert_eq!(found.len(), 2);
    }

    #[test]
    fn ipv6_blocks_are_understood() {
        let b = parse_cidr("2001:db8::/56").unwrap();
        assert!(b.v6 && b.len == 56);
        assert!(parse_cidr("2001:db8::1/64").unwrap_err().contains("host bits set; the block is 2001:db8::/64"));
        assert!(parse_cidr("2001:db8::/129").unwrap_err().contains("0-128"));
        assert!(parse_cidr("2001:zz8::/56").unwrap_err().contains("not an IPv6 address"));
        let ctx: Map<String, Json> = serde_json::from_str(r#"{"vpc": "10.0.0.0/16", "subnets": ["10.0.0.0/24", "2001:db8:0:1::/64", "2001:db8:0:1::/64", "2001:db8::/56"]}"#).unwrap();
        let checks = Checks { subnets: vec![vec!["vpc".into(), "subnets".into()]], ..Default::default() };
        let found = run(&checks, &ctx);
        // The IPv6 subnets are not held to the IPv4 VPC block, never overlap IPv4 ones, but overlap each other.
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found.iter().any(|(at, m)| at == "subnets.2" && m.contains("overlaps `2001:db8:0:1::/64`")));
        assert!(found
            .iter()
            .any(|(at, m)| at == "subnets.3" && m.contains("overlaps `2001:db8:0:1::/64` (`subnets.1`)")));
    }

    #[test]
    fn ports_and_wildcards() {
        let ctx: Map<String, Json> = serde_json::from_str(r#"{"services": {"api": {"port": 8080}, "web": {"port": 70000}}, "tasks": [{"cron": "rate(1 day)"}, {"cron": "cron(61 * * * ? *)"}]}"#).unwrap();
        let checks = Checks {
            port: vec!["services.*.port".into()],
            schedule: vec!["tasks.*.cron".into()],
            ..Default::default()
        };
        let found = run(&checks, &ctx);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().any(|(at, m)| at == "services.web.port" && m.contains("not a port")));
        assert!(found.iter().any(|(at, m)| at == "tasks.1.cron" && m.contains("minutes must be 0-59")));
    }
}

/// The AWS regions known when this stackc was built (commercial, GovCloud, China, the European
/// Sovereign Cloud).
pub const REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eusc-de-east-1",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// Why `name` is not a region, or None. A name of a region's shape that is not in the list passes (a
/// region newer than this stackc); anything else is a mistake, with the nearest known region.
pub fn region_problem(name: &str) -> Option<String> {
    if REGIONS.contains(&name) {
        return None;
    }
    let lower = name.to_ascii_lowercase();
    if lower != name && REGIONS.contains(&lower.as_str()) {
        return Some(format!("`{name}` is not an AWS region: region names are lower case (`{lower}`)"));
    }
    let parts: Vec<&str> = name.split('-').collect();
    let (geo, direction, number) = match parts.as_slice() {
        [geo, direction, number] => (geo.to_string(), *direction, *number),
        [a, b, direction, number] => (format!("{a}-{b}"), *direction, *number),
        _ => ("".to_string(), "", ""),
    };
    let geos: std::collections::BTreeSet<String> =
        REGIONS.iter().map(|r| r.rsplitn(3, '-').nth(2).unwrap_or_default().to_string()).collect();
    const DIRECTIONS: &[&str] =
        &["east", "west", "north", "south", "central", "northeast", "northwest", "southeast", "southwest"];
    let shaped = geos.contains(&geo)
        && DIRECTIONS.contains(&direction)
        && !number.is_empty()
        && number.len() <= 2
        && number.bytes().all(|b| b.is_ascii_digit());
    if shaped {
        return None;
    }
    let nearest = REGIONS.iter().min_by_key(|r| strsim::levenshtein(name, r)).copied().unwrap_or("us-east-1");
    Some(format!("`{name}` is not an AWS region (did you mean `{nearest}`?)"))
}

#[cfg(test)]
mod region_tests {
    use super::*;

    #[test]
    fn regions_known_or_shaped_like_one_pass_and_typos_do_not() {
        for ok in ["eu-west-1", "us-gov-west-1", "cn-northwest-1", "ap-southeast-9", "eusc-de-east-1"] {
            assert_eq!(region_problem(ok), None, "{ok}");
        }
        assert_eq!(
            region_problem("us-esat-1").unwrap(),
            "`us-esat-1` is not an AWS region (did you mean `us-east-1`?)"
        );
        assert!(region_problem("eu-west").is_some());
        assert!(region_problem("euwest1").is_some());
        assert!(region_problem("EU-WEST-1").is_some());
        assert!(region_problem("xx-east-1").is_some());
    }
}
