//! `.stackcignore` files: gitignore's pattern syntax, for what a zipped code folder leaves out.
//!
//! One pattern a line; `#` starts a comment; `!` re-includes what an earlier pattern left out; a pattern
//! ending in `/` matches folders only; one with a `/` anywhere else is anchored to the folder of the file
//! that holds it, one without matches a name at any depth; `*` and `?` match within a name, `[a-z]` a
//! class, and `**` any number of folders. The last pattern that matches a path decides.

/// One pattern, from a file (or stackc's defaults).
#[derive(Debug, Clone)]
pub struct Rule {
    /// The folder of the file that holds it, relative to where the walk started (`""` there).
    base: String,
    segments: Vec<String>,
    anchored: bool,
    dir_only: bool,
    /// `!pattern`: include what an earlier pattern left out (and upload a credential-looking file).
    pub negate: bool,
    /// Where it was written (`src/.stackcignore:3`), or `default`.
    pub origin: String,
}

/// The patterns of one `.stackcignore`, whose folder is `base` (relative to the walk's start) and whose
/// path, for messages, is `label`.
pub fn parse(text: &str, base: &str, label: &str) -> Vec<Rule> {
    let mut rules = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        let line = if line.ends_with("\\ ") { line } else { line.trim_end_matches(' ') };
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (negate, rest) = match line.strip_prefix('!') {
            Some(r) => (true, r),
            None => (false, line.strip_prefix('\\').filter(|r| r.starts_with(['#', '!'])).unwrap_or(line)),
        };
        let dir_only = rest.ends_with('/');
        let rest = rest.trim_end_matches('/');
        let anchored = rest.contains('/');
        let segments: Vec<String> = rest.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect();
        if segments.is_empty() {
            continue;
        }
        let origin = format!("{label}:{}", n + 1);
        rules.push(Rule { base: base.to_string(), segments, anchored, dir_only, negate, origin });
    }
    rules
}

impl Rule {
    /// Whether this pattern matches `path` (relative to the walk's start, `/`-separated).
    pub fn matches(&self, path: &str, is_dir: bool) -> bool {
        if self.dir_only && !is_dir {
            return false;
        }
        let rel = if self.base.is_empty() {
            path
        } else {
            match path.strip_prefix(self.base.as_str()).and_then(|r| r.strip_prefix('/')) {
                Some(r) => r,
                None => return false,
            }
        };
        let names: Vec<&str> = rel.split('/').collect();
        if self.anchored {
            segments_match(&self.segments, &names)
        } else {
            names.last().is_some_and(|n| name_matches(self.segments[0].as_bytes(), n.as_bytes()))
        }
    }
}

/// The last rule that matches `path`, if any: it decides whether the path is left out (`!negate`).
pub fn decide<'a>(rules: &'a [Rule], path: &str, is_dir: bool) -> Option<&'a Rule> {
    rules.iter().rev().find(|r| r.matches(path, is_dir))
}

fn segments_match(pattern: &[String], names: &[&str]) -> bool {
    match pattern.split_first() {
        None => names.is_empty(),
        // `a/**` is everything inside `a` (not `a` itself); `**/b` and `a/**/b` any depth, none included.
        Some((first, rest)) if first == "**" => {
            if rest.is_empty() {
                return !names.is_empty();
            }
            (0..=names.len()).any(|skip| segments_match(rest, &names[skip..]))
        }
        Some((first, rest)) => names
            .split_first()
            .is_some_and(|(n, more)| name_matches(first.as_bytes(), n.as_bytes()) && segments_match(rest, more)),
    }
}

/// One name against one pattern segment: `*`, `?`, `[...]` (with `!`/`^` and ranges), `\x`.
fn name_matches(p: &[u8], n: &[u8]) -> bool {
    let (mut pi, mut ni) = (0, 0);
    // Where the last `*` was, and the name position it has swallowed up to, to backtrack to.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        let step = match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ni));
                pi += 1;
                continue;
            }
            Some(b'?') => Some(pi + 1),
            Some(b'[') => class(p, pi, n[ni]),
            Some(b'\\') if pi + 1 < p.len() => (p[pi + 1] == n[ni]).then_some(pi + 2),
            Some(c) => (*c == n[ni]).then_some(pi + 1),
            None => None,
        };
        match (step, star) {
            (Some(next), _) => {
                pi = next;
                ni += 1;
            }
            (None, Some((sp, sn))) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            (None, None) => return false,
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

/// A `[...]` class starting at `p[at]` against byte `c`: the index after the class when it matches.
fn class(p: &[u8], at: usize, c: u8) -> Option<usize> {
    let mut i = at + 1;
    let negated = matches!(p.get(i), Some(b'!' | b'^'));
    if negated {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    while i < p.len() && (p[i] != b']' || first) {
        first = false;
        if i + 2 < p.len() && p[i + 1] == b'-' && p[i + 2] != b']' {
            hit |= p[i] <= c && c <= p[i + 2];
            i += 3;
        } else {
            hit |= p[i] == c;
            i += 1;
        }
    }
    if i >= p.len() {
        // No closing bracket: the `[` is a plain character.
        return (c == b'[').then_some(at + 1);
    }
    (hit != negated).then_some(i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn left_out(text: &str, path: &str, is_dir: bool) -> bool {
        let rules = parse(text, "", ".stackcignore");
        decide(&rules, path, is_dir).is_some_and(|r| !r.negate)
    }

    #[test]
    fn names_match_at_any_depth_and_anchored_patterns_from_their_folder() {
        assert!(left_out("*.log\n", "a/b/debug.log", false));
        assert!(!left_out("*.log\n", "a/b/debug.logs", false));
        assert!(left_out("tests\n", "src/tests", true));
        assert!(left_out("/tests\n", "tests", true));
        assert!(!left_out("/tests\n", "src/tests", true));
        assert!(left_out("src/*.py\n", "src/a.py", false));
        assert!(!left_out("src/*.py\n", "src/sub/a.py", false), "* does not cross a folder");
        assert!(left_out("build/\n", "x/build", true));
        assert!(!left_out("build/\n", "x/build", false), "a trailing / matches folders only");
        assert!(left_out("**/fixtures\n", "a/b/fixtures", true));
        assert!(left_out("a/**/z.txt\n", "a/z.txt", false));
        assert!(left_out("a/**/z.txt\n", "a/b/c/z.txt", false));
        assert!(left_out("a/**\n", "a/b", false));
        assert!(!left_out("a/**\n", "a", true));
        assert!(left_out("file?.[ch]\n", "file1.c", false));
        assert!(!left_out("file?.[!ch]\n", "file1.c", false));
        assert!(left_out("[a-c]*.md\n", "beta.md", false));
        assert!(!left_out("[a-c]*.md\n", "delta.md", false));
        assert!(left_out("*test*data*\n", "my_test_big_data.bin", false));
        assert!(left_out("\\#notes\n", "#notes", false));
    }

    #[test]
    fn the_last_pattern_decides_and_comments_and_blanks_are_nothing() {
        let text = "# comment\n\n*.json\n!keep.json\n";
        assert!(left_out(text, "a.json", false));
        assert!(!left_out(text, "keep.json", false));
        let rules = parse(text, "", "src/.stackcignore");
        let r = decide(&rules, "keep.json", false).unwrap();
        assert!(r.negate);
        assert_eq!(r.origin, "src/.stackcignore:4");
        assert_eq!(parse("#only\n   \n/\n", "", "x").len(), 0);
    }

    #[test]
    fn a_nested_file_applies_only_below_its_folder() {
        let rules = parse("*.md\n/local.txt\n", "lib", "lib/.stackcignore");
        assert!(decide(&rules, "lib/README.md", false).is_some());
        assert!(decide(&rules, "lib/deep/x.md", false).is_some());
        assert!(decide(&rules, "README.md", false).is_none());
        assert!(decide(&rules, "libx/README.md", false).is_none());
        assert!(decide(&rules, "lib/local.txt", false).is_some());
        assert!(decide(&rules, "lib/deep/local.txt", false).is_none());
    }
}
