//! The house rule, by place: only `src/edge/` (the adapters) and `src/commands/` (the wiring) reach the
//! network, AWS, the keyring, the terminal, the process environment or other programs. Every other file
//! under `src/`, found by walking the folder (not from a list kept by hand), is pure; this reads their
//! sources to prove it. A new module is checked the day it is added.

use std::path::{Path, PathBuf};

/// What only the edge may touch.
const EDGE: &[&str] = &[
    "aws_sdk",
    "aws_config",
    "aws_smithy",
    "tokio",
    "keyring::",
    "rpassword",
    "std::net::Tcp",
    "std::net::Udp",
    "ToSocketAddrs",
    "crate::edge",
    "crate::commands",
    "IsTerminal",
    "std::env::var",
    "std::process",
    "hyper",
    "reqwest",
];

/// Folders (under src/) allowed to reach the edge, and single files that are entry points.
const ALLOWED: &[&str] = &["edge", "commands"];
const ENTRY: &[&str] = &["main.rs"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `text` without its test-only items: each `#[cfg(test)]` and the item it marks (a `mod` block, brace
/// matched, or a one-line item), wherever it stands; everything else, after a test module too, stays.
fn without_tests(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at + "#[cfg(test)]".len()..];
        let end = match (item.find('{'), item.find(';')) {
            (Some(open), semi) if semi.is_none_or(|s| open < s) => {
                let mut depth = 0;
                let close = item[open..].char_indices().find_map(|(i, c)| {
                    depth += match c {
                        '{' => 1,
                        '}' => -1,
                        _ => 0,
                    };
                    (depth == 0).then_some(open + i + 1)
                });
                close.unwrap_or(item.len())
            }
            (_, Some(semi)) => semi + 1,
            _ => item.len(),
        };
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn test_items_are_left_out_and_code_after_them_is_kept() {
    let text = "use a;\n#[cfg(test)]\npub(crate) use x::Y;\nfn real() {}\n#[cfg(test)]\nmod tests {\n    fn t() { if x { y } }\n}\nfn after() { crate::z() }\n";
    let code = without_tests(text);
    assert!(code.contains("fn real()") && code.contains("fn after() { crate::z() }"), "{code}");
    assert!(!code.contains("x::Y") && !code.contains("fn t()"), "{code}");
}

/// Findings for one file's text: (line, pattern, line text), test modules left out.
fn reaches_the_edge(text: &str) -> Vec<(usize, &'static str, String)> {
    let code = &without_tests(text);
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let line = line.split("//").next().unwrap();
        for edge in EDGE {
            if line.contains(edge) {
                found.push((n + 1, *edge, line.trim().to_string()));
            }
        }
    }
    found
}

#[test]
fn only_the_edge_and_the_commands_reach_out() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut pure = 0;
    let mut found = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let first = rel.components().next().unwrap().as_os_str().to_string_lossy().to_string();
        if (rel.components().count() > 1 && ALLOWED.contains(&first.as_str())) || ENTRY.contains(&first.as_str()) {
            continue;
        }
        pure += 1;
        let text = std::fs::read_to_string(file).unwrap();
        for (line, edge, code) in reaches_the_edge(&text) {
            found.push(format!("src/{}:{line}: {edge}: {code}", rel.display()));
        }
    }
    assert!(pure >= 25, "only {pure} pure files found under {}: is the walk right?", src.display());
    assert!(found.is_empty(), "pure modules reach the edge:\n{}", found.join("\n"));
}

#[test]
fn the_check_can_fail() {
    assert_eq!(reaches_the_edge("use aws_sdk_ssm::Client;\n").len(), 1);
    assert_eq!(reaches_the_edge("let v = std::env::var(\"X\");\n")[0].1, "std::env::var");
    assert!(reaches_the_edge("// use aws_sdk_ssm::Client;\n#[cfg(test)]\nuse tokio;\n").is_empty());
}

/// Floors: a module may import only from floors below it. CloudFormation's vocabulary (`src/cfn/`) is the
/// lowest: it names nothing of the modules that deploy, read the project or talk to the user.
const CFN_MAY_NOT_NAME: &[&str] = &[
    "crate::deploy",
    "crate::commands",
    "crate::edge",
    "crate::environment",
    "crate::project",
    "crate::values",
    "crate::assemble",
    "crate::validate",
    "crate::drift",
];

fn upward_imports(text: &str, forbidden: &[&'static str]) -> Vec<(usize, &'static str)> {
    let code = &without_tests(text);
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let line = line.split("//").next().unwrap();
        found.extend(forbidden.iter().filter(|f| line.contains(**f)).map(|f| (n + 1, *f)));
    }
    found
}

#[test]
fn cloudformation_vocabulary_names_nothing_above_it() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cfn");
    let mut files = Vec::new();
    rust_files(&dir, &mut files);
    assert!(files.len() >= 4, "only {} files under {}", files.len(), dir.display());
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (line, what) in upward_imports(&text, CFN_MAY_NOT_NAME) {
            found.push(format!("{}:{line}: {what}", file.display()));
        }
    }
    assert!(found.is_empty(), "src/cfn imports from a higher floor:\n{}", found.join("\n"));
    // The check can fail.
    assert_eq!(upward_imports("use crate::deploy::engine::Engine;\n", CFN_MAY_NOT_NAME).len(), 1);
}

/// Lines of code (tests left out) that name a crate path inline instead of in a `use`.
fn inline_crate_paths(text: &str) -> Vec<(usize, String)> {
    let code = &without_tests(text);
    code.lines()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim_start();
            !(t.starts_with("use ")
                || t.starts_with("pub use ")
                || t.starts_with("//")
                || t.starts_with("pub(crate) use "))
                && l.split("//").next().unwrap().contains("crate::")
        })
        .map(|(n, l)| (n + 1, l.trim().to_string()))
        .collect()
}

/// Every crate path is in a `use`, where the reader (and this house's floors) can see it.
#[test]
fn every_crate_path_is_in_a_use() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found = Vec::new();
    for file in &files {
        for (line, code) in inline_crate_paths(&std::fs::read_to_string(file).unwrap()) {
            found.push(format!("{}:{line}: {code}", file.display()));
        }
    }
    assert!(found.is_empty(), "inline crate paths:\n{}", found.join("\n"));
    assert_eq!(inline_crate_paths("fn f() { crate::text::count(1, \"x\"); }\n").len(), 1, "the check can fail");
}

/// The project, the environments and the graph each stand on their own: `graph.rs` is a plain DAG of
/// names, `project.rs` knows only stackc.toml and layer.toml, and the environment files know nothing of
/// the graph built from them. What needs a project and an environment together is `scope.rs`'s.
#[test]
fn the_project_the_environment_and_the_graph_do_not_name_each_other_upward() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let rules: &[(&str, &[&'static str])] = &[
        ("graph.rs", &["crate::project", "crate::environment", "crate::scope", "crate::values"]),
        ("project.rs", &["crate::environment", "crate::graph", "crate::scope"]),
        ("environment/mod.rs", &["crate::scope", "crate::values", "crate::assemble"]),
    ];
    let mut found = Vec::new();
    for (file, forbidden) in rules {
        let text = std::fs::read_to_string(src.join(file)).unwrap();
        for (line, what) in upward_imports(&text, forbidden) {
            found.push(format!("src/{file}:{line}: {what}"));
        }
    }
    assert!(found.is_empty(), "imports against the floors:\n{}", found.join("\n"));
}

/// The stack path and the stack-set path share a driver and know nothing of the engine that chooses between
/// them (no second `impl Engine` in another file); the driver knows neither path.
#[test]
fn the_stack_and_stack_set_paths_name_nothing_of_the_engine() {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/deploy");
    let engine: &[&'static str] = &["engine::", "Engine"];
    let rules: &[(&str, &[&'static str])] = &[
        ("stack.rs", engine),
        ("stackset.rs", engine),
        ("driver.rs", &["engine::", "Engine", "stack::", "stackset::", "StackPath", "StackSetPath"]),
    ];
    let mut found = Vec::new();
    for (file, forbidden) in rules {
        let text = std::fs::read_to_string(deploy.join(file)).unwrap();
        for (line, what) in upward_imports(&text, forbidden) {
            found.push(format!("src/deploy/{file}:{line}: {what}"));
        }
    }
    assert!(found.is_empty(), "a deploy path names the engine:\n{}", found.join("\n"));
    assert_eq!(upward_imports("impl Engine<'_> {\n", engine).len(), 1, "the check can fail");
}

/// The floors of `src/lib.rs`'s module map, lowest first. A new module must be given one here.
const FLOORS: &[&[&str]] = &[
    &["diagnostic", "text", "files", "watch", "secret", "toml_error"],
    &["cfn", "graph"],
    &["source", "project", "environment", "stackset_settings", "value_checks", "scope", "editor_schemas"],
    &["provider", "values", "render", "package", "assemble", "param_format"],
    &["validate", "diff", "replacement", "promote", "import", "drift", "deploy", "completion"],
    &["edge", "commands", "cli", "schema_parity"],
];

fn floor_of(module: &str) -> Option<usize> {
    FLOORS.iter().position(|f| f.contains(&module))
}

/// `crate::<module>` names in `text` (tests left out) that stand on a higher floor than `floor`.
fn above(text: &str, floor: usize) -> Vec<String> {
    let code = &without_tests(text);
    let mut found = Vec::new();
    for part in code.split("crate::").skip(1) {
        let name: String = part.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
        match floor_of(&name) {
            Some(f) if f <= floor => {}
            Some(f) => found.push(format!("{name} (floor {})", f + 1)),
            None => found.push(format!("{name} (on no floor)")),
        }
    }
    found
}

/// Every arrow points down: each module imports only modules on its own floor or below, as the module map
/// in `src/lib.rs` lays them out; and every module has a floor.
#[test]
fn every_import_points_to_a_floor_at_or_below_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let top = rel.components().next().unwrap().as_os_str().to_string_lossy().trim_end_matches(".rs").to_string();
        if top == "lib" || top == "main" {
            continue;
        }
        let Some(floor) = floor_of(&top) else {
            found.push(format!("src/{}: module `{top}` is on no floor (add it to FLOORS and lib.rs)", rel.display()));
            continue;
        };
        for what in above(&std::fs::read_to_string(file).unwrap(), floor) {
            found.push(format!("src/{} (floor {}) imports {what}", rel.display(), floor + 1));
        }
    }
    assert!(found.is_empty(), "imports against the floors:\n{}", found.join("\n"));
    // The check can fail.
    assert_eq!(above("use crate::deploy::engine::Engine;\n", 1), vec!["deploy (floor 5)"]);
}

/// The module a file is (`cfn::lint` for src/cfn/lint/mod.rs); None for the crate root and test files.
fn module_of(rel: &Path) -> Option<String> {
    let mut parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().to_string()).collect();
    let last = parts.pop()?.trim_end_matches(".rs").to_string();
    if last == "tests" || last.ends_with("_tests") || (parts.is_empty() && (last == "lib" || last == "main")) {
        return None;
    }
    if last != "mod" {
        parts.push(last);
    }
    Some(parts.join("::"))
}

/// The paths a `use` tree names: `a::{b, c::{d, self}}` -> a::b, a::c::d, a::c.
fn expand_use(tree: &str, prefix: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap().trim();
        out.push(format!("{prefix}{path}").trim_end_matches("::self").to_string());
        return;
    };
    let head = format!("{prefix}{}", &tree[..open]);
    let body = &tree[open + 1..tree.rfind('}').unwrap()];
    let (mut depth, mut start) = (0, 0);
    for (i, c) in body.char_indices().chain([(body.len(), ',')]) {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                let part = body[start..i].trim();
                if part == "self" {
                    out.push(head.trim_end_matches("::").to_string());
                } else if !part.is_empty() {
                    expand_use(part, &head, out);
                }
                start = i + 1;
            }
            _ => {}
        }
    }
}

/// The modules `module`'s code (tests left out) names, as module paths of the crate: its `use` trees and
/// any inline `crate::`/`super::` path, resolved to the longest module that exists. Its own ancestors
/// and descendants are left out: a folder's mod.rs is the folder's face, its files are its parts.
fn imports_of(module: &str, text: &str, modules: &std::collections::BTreeSet<String>) -> Vec<String> {
    let code: String =
        without_tests(text).lines().map(|l| l.split("//").next().unwrap()).collect::<Vec<_>>().join("\n");
    let mut paths = Vec::new();
    let mut lines = code.lines();
    while let Some(line) = lines.next() {
        let line = line.trim_start();
        let Some(start) =
            ["use ", "pub use ", "pub(crate) use ", "pub(super) use "].iter().find_map(|p| line.strip_prefix(p))
        else {
            continue;
        };
        let mut stmt = start.to_string();
        while !stmt.contains(';') {
            stmt.push_str(lines.next().expect("a use statement ends with `;`"));
        }
        let tree = stmt.split(';').next().unwrap();
        expand_use(&tree.split_whitespace().collect::<Vec<_>>().join(" "), "", &mut paths);
    }
    for start in ["crate::", "super::"] {
        for (i, _) in code.match_indices(start) {
            let path: String =
                code[i..].chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
            paths.push(path);
        }
    }
    let parent: Vec<&str> = module.split("::").collect();
    let mut found = Vec::new();
    for path in paths {
        let full = if let Some(rest) = path.strip_prefix("crate::") {
            rest.to_string()
        } else if path.starts_with("super::") {
            let (mut base, mut rest) = (parent[..parent.len() - 1].to_vec(), path.as_str());
            while let Some(r) = rest.strip_prefix("super::") {
                rest = r;
                if r.starts_with("super::") {
                    base.pop();
                }
            }
            base.into_iter().chain(rest.split("::")).collect::<Vec<_>>().join("::")
        } else {
            continue;
        };
        let parts: Vec<&str> = full.split("::").collect();
        let Some(target) = (1..=parts.len()).rev().map(|n| parts[..n].join("::")).find(|m| modules.contains(m)) else {
            continue;
        };
        let related = target == module
            || module.starts_with(&format!("{target}::"))
            || target.starts_with(&format!("{module}::"));
        if !related && !found.contains(&target) {
            found.push(target);
        }
    }
    found
}

/// A circle of imports in `edges`, as the modules around it, if there is one.
fn a_circle(edges: &std::collections::BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    fn walk(
        m: &str,
        edges: &std::collections::BTreeMap<String, Vec<String>>,
        done: &mut std::collections::BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            return Some(path[at..].iter().cloned().chain([m.to_string()]).collect());
        }
        if !done.insert(m.to_string()) {
            return None;
        }
        path.push(m.to_string());
        for next in edges.get(m).into_iter().flatten() {
            if let Some(circle) = walk(next, edges, done, path) {
                return Some(circle);
            }
        }
        path.pop();
        None
    }
    let mut done = std::collections::BTreeSet::new();
    edges.keys().find_map(|m| walk(m, edges, &mut done, &mut Vec::new()))
}

/// No import circles: no module reaches itself through the modules it imports, at any depth (siblings in
/// a folder included; a folder's mod.rs and its own files are one unit and left out).
#[test]
fn no_module_imports_itself_around_a_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let named: Vec<(String, PathBuf)> =
        files.into_iter().filter_map(|f| module_of(f.strip_prefix(&src).unwrap()).map(|m| (m, f))).collect();
    let modules: std::collections::BTreeSet<String> = named.iter().map(|(m, _)| m.clone()).collect();
    let edges: std::collections::BTreeMap<String, Vec<String>> =
        named.iter().map(|(m, f)| (m.clone(), imports_of(m, &std::fs::read_to_string(f).unwrap(), &modules))).collect();
    assert!(
        edges["cfn::lint"].contains(&"cfn::declarations".to_string()),
        "the import reader lost an import: {edges:?}"
    );
    assert_eq!(a_circle(&edges), None, "an import circle");
    // The check can fail: a sibling circle through a `use` group and an inline path.
    let toy: std::collections::BTreeSet<String> = ["a", "a::x", "a::y", "b"].iter().map(|s| s.to_string()).collect();
    let x = imports_of("a::x", "use super::{y::Thing, self as me};\nuse crate::b;", &toy);
    assert_eq!(x, ["a::y", "b"]);
    let y = imports_of("a::y", "fn f() { super::x::g() }\n#[cfg(test)]\nmod t { use crate::b; }", &toy);
    assert_eq!(y, ["a::x"]);
    let toy_edges = [("a::x".to_string(), x), ("a::y".to_string(), y)].into_iter().collect();
    assert_eq!(a_circle(&toy_edges), Some(vec!["a::x".into(), "a::y".into(), "a::x".into()]));
}

/// ARCHITECTURE.md names every module under src/ (one line each, as `module::path`) and no module that is
/// not there, so the map a newcomer reads is the house as it stands.
#[test]
fn the_module_map_names_every_module_and_no_other() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: std::collections::BTreeSet<String> =
        files.iter().filter_map(|f| module_of(f.strip_prefix(&src).unwrap())).collect();
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let listed: std::collections::BTreeSet<String> =
        map.lines().filter_map(|l| l.strip_prefix("- `")?.split('`').next().map(String::from)).collect();
    let missing: Vec<&String> = modules.difference(&listed).collect();
    let stale: Vec<&String> = listed.difference(&modules).collect();
    assert!(missing.is_empty() && stale.is_empty(), "ARCHITECTURE.md lacks {missing:?}; names gone modules {stale:?}");
    assert!(modules.contains("deploy::stack") && modules.len() > 50, "the module walk found {}", modules.len());
}
