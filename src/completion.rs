//! Names for shell completion: the words typed so far decide whether an environment or a layer comes
//! next, and the project (found as every command finds it) says which there are. The shell scripts
//! `stackc completions bash|fish` prints call `stackc __complete -- <words>` for them.

use crate::project::Project;

/// Options (global or not) that take a value: their value is not a positional word.
const VALUED: &[&str] = &[
    "-C",
    "--project",
    "--set",
    "--profile",
    "--region",
    "--endpoint-url",
    "--password-from",
    "--color",
    "--output",
    "--concurrency",
    "--look-in",
    "--skip",
    "--allow-replace",
    "--since",
    "--bucket",
    "--only",
    "--name",
    "--env",
    "--layer",
    "--template",
    "--from-template",
    "--depends-on",
    "--out",
    "--format",
    "--to",
    "--timeout",
    "--role-arn",
];

/// Commands whose first word is an environment and whose further words are layers.
const ENV_THEN_LAYERS: &[&str] = &[
    "render",
    "validate",
    "build",
    "plan",
    "deploy",
    "status",
    "outputs",
    "diff",
    "drift",
    "events",
    "logs",
    "destroy",
    "package",
    "continue-rollback",
];
/// Commands that take one environment only.
const ENV_ONLY: &[&str] = &["graph", "bootstrap", "prune"];
/// Commands that take two environments (from, to).
const TWO_ENVS: &[&str] = &["envdiff", "promote"];

/// What comes next after `words` (the words after `stackc`, the one being typed left out).
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Environment,
    Layer,
    Nothing,
}

pub fn next(words: &[String]) -> Next {
    let mut positional: Vec<&str> = Vec::new();
    let mut skip = false;
    for w in words {
        if skip {
            skip = false;
            continue;
        }
        if w.starts_with('-') {
            skip = VALUED.contains(&w.as_str());
            continue;
        }
        positional.push(w);
    }
    let Some((command, rest)) = positional.split_first() else { return Next::Nothing };
    let (command, rest) = match (*command, rest) {
        ("secret", [sub, rest @ ..]) if *sub == "set" || *sub == "check" => (*sub, rest),
        _ => (*command, rest),
    };
    match (command, rest.len()) {
        (c, 0) if ENV_THEN_LAYERS.contains(&c) || ENV_ONLY.contains(&c) || TWO_ENVS.contains(&c) => Next::Environment,
        (c, 1) if TWO_ENVS.contains(&c) => Next::Environment,
        ("set" | "check", 0) => Next::Environment,
        ("set", 1) => Next::Layer,
        (c, _) if ENV_THEN_LAYERS.contains(&c) => Next::Layer,
        _ => Next::Nothing,
    }
}

/// The names to offer after `words` in `project`.
pub fn candidates(project: &Project, words: &[String]) -> Vec<String> {
    match next(words) {
        Next::Environment => project.environment_names(),
        Next::Layer => project.layers.keys().cloned().collect(),
        Next::Nothing => Vec::new(),
    }
}

/// The project folder the words name with `-C`/`--project`, if any.
pub fn project_dir(words: &[String]) -> Option<&str> {
    words.windows(2).find(|w| w[0] == "-C" || w[0] == "--project").map(|w| w[1].as_str())
}

/// What `completions bash` adds to clap's script: names from the project after the static completions.
pub const BASH: &str = r#"
_stackc_names() {
    local words=("${COMP_WORDS[@]:1:COMP_CWORD-1}")
    local IFS=$'\n'
    local names=($(stackc __complete -- "${words[@]}" 2>/dev/null))
    if [[ ${#names[@]} -gt 0 ]]; then
        COMPREPLY+=($(compgen -W "${names[*]}" -- "${COMP_WORDS[COMP_CWORD]}"))
    fi
}
_stackc_with_names() {
    _stackc "$@"
    _stackc_names
}
complete -F _stackc_with_names -o nosort -o bashdefault -o default stackc
"#;

/// What `completions fish` adds: the same names, asked for with the words typed so far.
pub const FISH: &str = r#"
complete -c stackc -f -a '(stackc __complete -- (commandline -opc)[2..-1] 2>/dev/null)'
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: &str) -> Next {
        next(&line.split_whitespace().map(str::to_string).collect::<Vec<_>>())
    }

    #[test]
    fn the_words_typed_decide_what_comes_next() {
        assert_eq!(at(""), Next::Nothing);
        assert_eq!(at("deploy"), Next::Environment);
        assert_eq!(at("deploy qa"), Next::Layer);
        assert_eq!(at("deploy qa net"), Next::Layer);
        assert_eq!(at("-C ../proj --profile admin plan"), Next::Environment);
        assert_eq!(at("plan --concurrency 4 qa"), Next::Layer, "an option's value is not a word");
        assert_eq!(at("prune"), Next::Environment);
        assert_eq!(at("prune qa"), Next::Nothing);
        assert_eq!(at("envdiff qa"), Next::Environment);
        assert_eq!(at("envdiff qa prod"), Next::Nothing);
        assert_eq!(at("secret set"), Next::Environment);
        assert_eq!(at("secret set qa"), Next::Layer);
        assert_eq!(at("secret set qa db"), Next::Nothing);
        assert_eq!(at("completions"), Next::Nothing);
        assert_eq!(at("build qa"), Next::Layer);
        assert_eq!(at("logs qa"), Next::Layer);
        assert_eq!(project_dir(&["-C".to_string(), "x".to_string(), "plan".to_string()]), Some("x"));
    }

    /// Every command whose first argument is an environment (as the command line defines it) completes
    /// one: a new command cannot be forgotten here.
    #[test]
    fn every_command_that_takes_an_environment_completes_one() {
        let cli = <crate::cli::Cli as clap::CommandFactory>::command();
        let mut missing = Vec::new();
        for sub in cli.get_subcommands().filter(|s| !s.is_hide_set()) {
            let first = sub.get_positionals().next().map(|a| a.get_id().as_str().to_string());
            let known = ENV_THEN_LAYERS.contains(&sub.get_name())
                || ENV_ONLY.contains(&sub.get_name())
                || TWO_ENVS.contains(&sub.get_name());
            if matches!(first.as_deref(), Some("env") | Some("from")) && !known {
                missing.push(sub.get_name().to_string());
            }
        }
        assert!(missing.is_empty(), "commands taking an environment that completion does not know: {missing:?}");
    }

    /// Every long option that takes a value (as the command line defines it) is known to take one, so its
    /// value is never read as an environment or a layer.
    #[test]
    fn every_option_that_takes_a_value_is_known_to() {
        let cli = <crate::cli::Cli as clap::CommandFactory>::command();
        let mut missing = Vec::new();
        let nested = cli.get_subcommands().flat_map(|c| c.get_subcommands());
        let commands = std::iter::once(&cli).chain(cli.get_subcommands()).chain(nested);
        for arg in commands.flat_map(|c| c.get_arguments()) {
            let takes = arg.get_action().takes_values() && !arg.is_positional();
            if let Some(long) = arg.get_long().filter(|_| takes) {
                let option = format!("--{long}");
                if !VALUED.contains(&option.as_str()) && !missing.contains(&option) {
                    missing.push(option);
                }
            }
        }
        assert!(missing.is_empty(), "options with a value that completion would take for a name: {missing:?}");
    }
}
