//! Small wording helpers every printer shares, so that counts read the same everywhere.

/// `word` or its plural for `n` ("1 layer", "2 layers"): the word only.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else if word.ends_with('s') || word.ends_with('x') || word.ends_with("ch") {
        format!("{word}es")
    } else {
        format!("{word}s")
    }
}

/// `n` and the word: "1 finding", "3 findings".
pub fn count(n: usize, word: &str) -> String {
    format!("{n} {}", plural(n, word))
}

/// Items as `a, b, c`, cut after `LIST_MAX` with how many more: a note never becomes a screenful.
pub fn list<S: AsRef<str>>(items: &[S]) -> String {
    list_by(items, ", ")
}

/// `list` with another separator (`; ` between items that hold commas themselves).
pub fn list_by<S: AsRef<str>>(items: &[S], sep: &str) -> String {
    let shown: Vec<&str> = items.iter().take(LIST_MAX).map(|s| s.as_ref()).collect();
    match items.len().saturating_sub(LIST_MAX) {
        0 => shown.join(sep),
        more => format!("{}{sep}... and {more} more", shown.join(sep)),
    }
}

/// Rows as columns padded to their widest cell (counted in characters, not bytes); the last column is
/// not padded, and trailing spaces are trimmed.
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            line.push_str(cell);
            if c + 1 < r.len() {
                line.push_str(&" ".repeat(widths[c] - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// How many items `list` names before it counts the rest.
pub const LIST_MAX: usize = 12;

#[cfg(test)]
mod tests {
    #[test]
    fn a_long_list_with_another_separator_is_cut_too() {
        let items: Vec<String> = (0..500).map(|i| format!("layer `l{i}`, parameter `P`")).collect();
        let text = list_by(&items, "; ");
        assert!(text.ends_with("; ... and 488 more") && text.len() < 400, "{text}");
        assert_eq!(list_by(&["a, b", "c"], "; "), "a, b; c");
    }

    use super::*;

    #[test]
    fn tables_fit_their_content() {
        let rows = vec![
            vec!["networking".to_string(), "UPDATE_ROLLBACK_COMPLETE".to_string(), "x".to_string()],
            vec!["é".to_string(), "OK".to_string(), "".to_string()],
        ];
        assert_eq!(table(&rows), "networking  UPDATE_ROLLBACK_COMPLETE  x\né           OK\n");
    }

    #[test]
    fn long_lists_are_cut() {
        let many: Vec<String> = (0..100).map(|i| format!("layer{i}")).collect();
        let shown = list(&many);
        assert!(shown.starts_with("layer0, layer1, ") && shown.ends_with("layer11, ... and 88 more"), "{shown}");
        assert_eq!(list(&["a", "b"]), "a, b");
    }

    #[test]
    fn counts_read_right() {
        assert_eq!(count(1, "layer"), "1 layer");
        assert_eq!(count(0, "layer"), "0 layers");
        assert_eq!(count(2, "finding"), "2 findings");
        assert_eq!(count(3, "batch"), "3 batches");
        assert_eq!(plural(2, "call"), "calls");
    }
}
