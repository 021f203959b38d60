//! Where a path (`Resources.Vpc.Properties.CidrBlok`) sits in a template's text: its 1-based line and
//! column. Block YAML is followed by indentation (list items by their dashes), JSON and flow YAML by the
//! keys in order; a key that cannot be followed leaves the deepest place found so far.

use super::finding::Seg;

struct Line<'a> {
    indent: usize,
    text: &'a str,
}

fn lines(text: &str) -> Vec<Line<'_>> {
    text.lines().map(|l| Line { indent: l.len() - l.trim_start_matches([' ', '\t']).len(), text: l }).collect()
}

/// The column (0-based, bytes) where `key` starts as a mapping key on `line`, if it does.
fn key_at(line: &str, key: &str) -> Option<usize> {
    for quote in ["", "\"", "'"] {
        let pattern = format!("{quote}{key}{quote}");
        let mut from = 0;
        while let Some(i) = line[from..].find(&pattern) {
            let start = from + i;
            let before = line[..start].trim_end_matches([' ', '\t']);
            let after = line[start + pattern.len()..].trim_start_matches([' ', '\t']);
            let at_key_start = before.is_empty() || before.ends_with(['{', ',', '-']);
            if at_key_start && after.starts_with(':') {
                return Some(start);
            }
            from = start + pattern.len().max(1);
        }
    }
    None
}

/// The 1-based (line, column) of `path` in `text`, or of the deepest part of it found.
pub fn locate(text: &str, path: &[Seg]) -> Option<(usize, usize)> {
    let ls = lines(text);
    // The block being searched: lines [start, end), and the indentation its children have more of.
    let (mut start, mut end, mut parent_indent): (usize, usize, Option<usize>) = (0, ls.len(), None);
    let mut found: Option<(usize, usize)> = None;
    for seg in path {
        let hit = match seg {
            Seg::Key(k) => (start..end).find_map(|i| {
                let l = &ls[i];
                if parent_indent
                    .is_some_and(|p| l.indent <= p && !l.text.trim().is_empty() && found.map(|f| f.0) != Some(i))
                {
                    return None;
                }
                key_at(l.text, k).map(|c| (i, c))
            }),
            Seg::Index(n) => nth_item(&ls, start, end, *n),
        };
        let Some((i, col)) = hit else { break };
        found = Some((i, col));
        let indent = col;
        // The value's block: following lines indented more than the key (or the dash).
        let block_end = (i + 1..ls.len())
            .find(|&j| {
                !ls[j].text.trim().is_empty() && !ls[j].text.trim_start().starts_with('#') && ls[j].indent <= indent
            })
            .unwrap_or(ls.len());
        start = i;
        end = block_end.min(end.max(i + 1)).max(i + 1);
        parent_indent = Some(indent);
    }
    found.map(|(i, c)| (i + 1, c + 1))
}

/// The `n`-th list item (`- ...`) at the shallowest dash indentation within [start, end).
fn nth_item(ls: &[Line], start: usize, end: usize, n: usize) -> Option<(usize, usize)> {
    let dashes: Vec<usize> = (start..end)
        .filter(|&i| {
            let t = ls[i].text.trim_start();
            t == "-" || t.starts_with("- ")
        })
        .collect();
    let shallowest = dashes.iter().map(|&i| ls[i].indent).min()?;
    let i = *dashes.iter().filter(|&&i| ls[i].indent == shallowest).nth(n)?;
    // The item's content starts after the dash: its keys are indented past it.
    Some((i, ls[i].indent))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(parts: &[&str]) -> Vec<Seg> {
        parts.iter().map(|s| s.parse::<usize>().map(Seg::Index).unwrap_or_else(|_| Seg::Key(s.to_string()))).collect()
    }

    #[test]
    fn block_yaml_by_indentation() {
        let text = "Resources:\n  Sub:\n    Type: AWS::EC2::Subnet\n    Properties:\n      CidrBlock: x\n  Vpc:\n    Type: AWS::EC2::VPC\n    Properties:\n      # a comment\n      CidrBlok: 10.0.0.0/16\n      Tags:\n        - Key: a\n          Value: b\n        - Key: c\n          Valu: d\nOutputs:\n  CidrBlok:\n    Value: x\n";
        assert_eq!(locate(text, &p(&["Resources", "Vpc", "Properties", "CidrBlok"])), Some((10, 7)));
        assert_eq!(locate(text, &p(&["Resources", "Vpc", "Properties", "Tags", "1", "Valu"])), Some((15, 11)));
        assert_eq!(locate(text, &p(&["Resources", "Vpc", "Properties", "Tags", "0"])), Some((12, 9)));
        assert_eq!(locate(text, &p(&["Outputs", "CidrBlok"])), Some((17, 3)));
        // A key not found leaves the deepest place found.
        assert_eq!(locate(text, &p(&["Resources", "Sub", "Properties", "Nope"])), Some((4, 5)));
    }

    #[test]
    fn json_and_flow_yaml() {
        let text = "{\n  \"Resources\": {\n    \"Vpc\": {\n      \"Type\": \"AWS::EC2::VPC\",\n      \"Properties\": {\"CidrBlok\": \"x\"}\n    }\n  }\n}\n";
        assert_eq!(locate(text, &p(&["Resources", "Vpc", "Properties", "CidrBlok"])), Some((5, 22)));
        let flow = "Resources:\n  T:\n    Type: X\n    Properties: {Tags: [{Key: a, Valu: b}]}\n";
        assert_eq!(locate(flow, &p(&["Resources", "T", "Properties", "Tags", "0", "Valu"])).map(|l| l.0), Some(4));
    }
}
