//! What stackc remembers in the account about an environment, so another machine (or a later run) knows
//! it: the regions its stacks live in, an SSM parameter in the environment's own region. `prune` reads
//! it to look for stacks whose layer (and with it the region) is gone from the project.

use super::client;
use std::collections::BTreeSet;
use std::sync::Arc;

use super::{port_error, runtime, Aws};

/// The parameter that lists the regions of `project`'s environment `env`.
pub fn regions_parameter(project: &str, env: &str) -> String {
    format!("/stackc/{project}/{env}/regions")
}

/// The regions recorded for the environment (none when nothing was recorded).
pub fn recorded_regions(aws: &Arc<Aws>, name: &str) -> Result<BTreeSet<String>, String> {
    let client = client!(aws_sdk_ssm, &aws.config(None));
    match runtime().block_on(client.get_parameter().name(name).send()) {
        Ok(out) => {
            let value = out.parameter().and_then(|p| p.value()).unwrap_or_default();
            Ok(value.split(',').map(str::trim).filter(|r| !r.is_empty()).map(str::to_string).collect())
        }
        Err(e) => {
            let e = port_error("GetParameter", &aws.endpoint(), e).to_string();
            if e.contains("ParameterNotFound") {
                Ok(BTreeSet::new())
            } else {
                Err(e)
            }
        }
    }
}

/// Add `regions` to the record; one read, and one write only when a region is new. Returns the regions
/// added.
pub fn record_regions(aws: &Arc<Aws>, name: &str, regions: &BTreeSet<String>) -> Result<Vec<String>, String> {
    let mut known = recorded_regions(aws, name)?;
    let added: Vec<String> = regions.iter().filter(|r| !known.contains(*r)).cloned().collect();
    if added.is_empty() {
        return Ok(added);
    }
    known.extend(added.iter().cloned());
    let value = known.into_iter().collect::<Vec<_>>().join(",");
    let client = client!(aws_sdk_ssm, &aws.config(None));
    let req = client
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .description("Regions this environment's stacks live in; stackc prune looks in each (written by stackc)")
        .overwrite(true);
    runtime().block_on(req.send()).map_err(|e| port_error("PutParameter", &aws.endpoint(), e).to_string())?;
    Ok(added)
}
