//! Property tests (proptest) over the parsers that take what users write: value references, templates,
//! whole environment files, CIDR blocks and schedules. Whatever the input: no panic, and an error is a
//! sentence (with a place, where the input has one). `PROPTEST_CASES` raises the count.

use proptest::prelude::*;

/// Text that looks like what users write, with the characters that break parsers.
fn texty() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("=".to_string()),
            Just("\"".to_string()),
            Just("'".to_string()),
            Just("{".to_string()),
            Just("}".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just("\n".to_string()),
            Just(": ".to_string()),
            Just("- ".to_string()),
            Just("!Ref ".to_string()),
            Just("&a ".to_string()),
            Just("*a".to_string()),
            Just("{{".to_string()),
            Just("}}".to_string()),
            Just("from = ".to_string()),
            Just("é🙂".to_string()),
            Just("\\".to_string()),
            "[a-zA-Z0-9_.:/-]{0,8}",
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn value_references_never_panic(from in "[a-z-]{0,14}", key in "[a-z_]{0,8}", value in texty()) {
        let mut table = toml::Table::new();
        table.insert("from".into(), toml::Value::String(from));
        table.insert(key, toml::Value::String(value));
        if let Err(d) = stackc::source::Source::from_table(&table) {
            prop_assert!(!d.message.is_empty());
        }
    }

    #[test]
    fn templates_never_panic(text in texty()) {
        if let Err(e) = stackc::cfn::template::Template::parse(&text) {
            prop_assert!(!e.message.is_empty());
        }
    }

    #[test]
    fn environment_files_never_panic(text in texty()) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("stackc.toml"), "name = \"demo\"\n").unwrap();
        std::fs::create_dir_all(dir.path().join("stacks/app")).unwrap();
        std::fs::write(dir.path().join("stacks/app/template.yaml"), "Resources: {}\n").unwrap();
        std::fs::create_dir_all(dir.path().join("environments")).unwrap();
        std::fs::write(dir.path().join("environments/qa.toml"), &text).unwrap();
        let project = stackc::project::Project::discover(Some(dir.path())).unwrap();
        if let Err(e) = stackc::environment::load(&project, "qa", &[]) {
            prop_assert!(!e.diagnostics.is_empty());
            // Every finding names the file it is about.
            for d in &e.diagnostics {
                let shown = d.to_string();
                prop_assert!(shown.contains("qa") , "{}", shown);
            }
        }
    }

    #[test]
    fn cidrs_and_schedules_never_panic(text in "[0-9a-fA-F:./]{0,45}", sched in "(cron|rate|at)\\([ -~]{0,40}\\)") {
        let _ = stackc::value_checks::parse_cidr(&text);
        let _ = stackc::value_checks::schedule(&sched);
    }
}
