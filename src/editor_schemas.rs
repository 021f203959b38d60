//! The JSON Schemas of stackc's files, as a project carries them for editors: `init`, `new layer` and the
//! imports write them into `.stackc/schemas/` and start each file they create with the `#:schema`
//! directive taplo-based editors (Even Better TOML, taplo's language server) read, as a path relative to
//! the file, so completion and checks work offline and match the stackc that wrote them.

/// Where a project keeps the schemas, from its root.
pub const DIR: &str = ".stackc/schemas";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `stackc.toml`, at the root.
    Project,
    /// `stacks/<layer>/layer.toml`.
    Layer,
    /// `environments/<env>.toml`.
    Environment,
}

/// Each schema's file name and text, as shipped in `schemas/`.
pub const FILES: [(&str, &str); 3] = [
    ("stackc.schema.json", include_str!("../schemas/stackc.schema.json")),
    ("layer.schema.json", include_str!("../schemas/layer.schema.json")),
    ("environment.schema.json", include_str!("../schemas/environment.schema.json")),
];

/// The first line of a new file of `kind`: its schema, relative to where that file lives.
pub fn directive(kind: Kind) -> String {
    let (up, file) = match kind {
        Kind::Project => ("", FILES[0].0),
        Kind::Layer => ("../../", FILES[1].0),
        Kind::Environment => ("../", FILES[2].0),
    };
    format!("#:schema {up}{DIR}/{file}\n")
}

/// `text` with its schema directive first, unless it has one.
pub fn with_directive(kind: Kind, text: &str) -> String {
    if text.starts_with("#:schema") {
        return text.to_string();
    }
    format!("{}{text}", directive(kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_directive_leads_from_where_its_file_lives_to_the_schema() {
        let root = std::path::Path::new("/p");
        for (kind, file) in [
            (Kind::Project, "stackc.toml"),
            (Kind::Layer, "stacks/api/layer.toml"),
            (Kind::Environment, "environments/qa.toml"),
        ] {
            let line = directive(kind);
            let rel = line.trim_end().strip_prefix("#:schema ").unwrap();
            let mut at = root.join(file).parent().unwrap().to_path_buf();
            for part in rel.split('/') {
                match part {
                    ".." => {
                        at.pop();
                    }
                    p => at.push(p),
                }
            }
            assert!(
                at.starts_with(root.join(DIR)) && at.to_string_lossy().ends_with(".schema.json"),
                "{kind:?}: {at:?}"
            );
        }
        assert_eq!(with_directive(Kind::Layer, "#:schema x\na = 1\n"), "#:schema x\na = 1\n");
    }
}
