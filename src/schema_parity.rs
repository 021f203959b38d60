//! `schemas/*.schema.json` name exactly the keys each file kind may hold, section by section, as serde's
//! `deny_unknown_fields` takes them: a key added to one and not the other fails here.

use serde::de::DeserializeOwned;

use crate::environment::EnvFile;
use crate::project::{LayerFile, ProjectFile};
use crate::source::KINDS;
use crate::toml_error::parse_unknown_field;

/// The keys serde accepts where `text` puts an unknown one (from its own error), sorted.
fn accepted<T: DeserializeOwned + std::fmt::Debug>(text: &str) -> Vec<String> {
    let err = toml::from_str::<T>(text).unwrap_err();
    let (_, mut keys) = parse_unknown_field(err.message()).expect("an unknown-key error");
    keys.sort();
    keys
}

/// The keys a schema object names, sorted.
fn keys(schema: &serde_json::Value) -> Vec<String> {
    let mut k: Vec<String> = schema["properties"].as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

fn schema(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn the_environment_schema_names_every_key_and_no_other() {
    let env = schema(include_str!("../schemas/environment.schema.json"));
    let p = &env["properties"];
    assert_eq!(keys(&env), accepted::<EnvFile>("zzz_not_a_key = 1\n"));
    assert_eq!(keys(&p["layers"]["additionalProperties"]), accepted::<EnvFile>("[layers.a]\nzzz_not_a_key = 1\n"));
    assert_eq!(keys(&p["secret_names"]), accepted::<EnvFile>("[secret_names]\nzzz_not_a_key = 1\n"));
    assert_eq!(keys(&env["$defs"]["stackset"]), accepted::<EnvFile>("[layers.a.stackset]\nzzz_not_a_key = 1\n"));
    let kinds: Vec<&str> = env["$defs"]["reference"]["properties"]["from"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(kinds, KINDS);
}

#[test]
fn the_project_and_layer_schemas_name_every_key_and_no_other() {
    let project = schema(include_str!("../schemas/stackc.schema.json"));
    assert_eq!(keys(&project), accepted::<ProjectFile>("name = \"x\"\nzzz_not_a_key = 1\n"));
    assert_eq!(keys(&project["properties"]["checks"]), accepted::<ProjectFile>("name = \"x\"\n[checks]\nzzz = 1\n"));
    let layer = schema(include_str!("../schemas/layer.schema.json"));
    assert_eq!(keys(&layer), accepted::<LayerFile>("zzz_not_a_key = 1\n"));
    assert_eq!(keys(&layer["properties"]["hooks"]), accepted::<LayerFile>("[hooks]\nzzz = 1\n"));
    assert_eq!(keys(&layer["properties"]["build"]), accepted::<LayerFile>("[build]\ncommands = []\nzzz = 1\n"));
    assert_eq!(keys(&layer["$defs"]["stackset"]), accepted::<LayerFile>("[stackset]\nzzz = 1\n"));
}
