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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_right() {
        assert_eq!(count(1, "layer"), "1 layer");
        assert_eq!(count(0, "layer"), "0 layers");
        assert_eq!(count(2, "finding"), "2 findings");
        assert_eq!(count(3, "batch"), "3 batches");
        assert_eq!(plural(2, "call"), "calls");
    }
}
