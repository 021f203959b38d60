//! The pure stages of the pipeline never reach the network, AWS, the keyring or the terminal: only the
//! adapters (src/aws, src/keyring_store.rs) and the commands do. This reads their sources to prove it.

const PURE: &[&str] = &[
    "src/source.rs",
    "src/environment.rs",
    "src/values.rs",
    "src/provider.rs",
    "src/render.rs",
    "src/template.rs",
    "src/graph.rs",
    "src/validate.rs",
    "src/param_format.rs",
    "src/diff.rs",
    "src/promote.rs",
    "src/import.rs",
    "src/build.rs",
    "src/checks.rs",
    "src/secret.rs",
    "src/diagnostic.rs",
    "src/toml_error.rs",
    "src/project.rs",
    "src/deploy/engine.rs",
    "src/deploy/plan.rs",
    "src/deploy/port.rs",
    "src/deploy/stack_state.rs",
];
const EDGE: &[&str] = &[
    "aws_sdk",
    "aws_config",
    "aws_smithy",
    "tokio",
    "keyring::",
    "crate::keyring_store",
    "rpassword",
    "std::net::Tcp",
    "std::net::Udp",
    "ToSocketAddrs",
    "crate::aws",
    "crate::commands",
    "IsTerminal",
    "hyper",
    "reqwest",
];

#[test]
fn pure_modules_import_no_adapter() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut found = Vec::new();
    for file in PURE {
        let text = std::fs::read_to_string(format!("{root}/{file}")).unwrap_or_else(|e| panic!("{file}: {e}"));
        // Only the code, not the test modules (tests may use anything).
        let code = text.split("#[cfg(test)]").next().unwrap();
        for (n, line) in code.lines().enumerate() {
            let line = line.split("//").next().unwrap();
            for edge in EDGE {
                if line.contains(edge) {
                    found.push(format!("{file}:{}: {edge}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "pure modules reach the edge:\n{}", found.join("\n"));
}

#[test]
fn the_check_can_fail() {
    let line = "use aws_sdk_ssm::Client;";
    assert!(EDGE.iter().any(|e| line.contains(e)));
}
