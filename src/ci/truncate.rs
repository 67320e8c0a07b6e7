//! Fitting Markdown under a platform's size limit without breaking it: cut at a line
//! boundary, close a `<details>` left open, and say where the full plan is.

/// `body` if it has at most `limit` characters; otherwise its first lines, a closing
/// `</details>` if one was left open, and `note`, all within `limit` characters.
pub fn fit(body: &str, limit: usize, note: &str) -> String {
    if body.chars().count() <= limit {
        return body.to_string();
    }
    let tail = format!("\n\n---\n{note}\n");
    let close = "\n</details>\n";
    let budget = limit.saturating_sub(tail.chars().count() + close.chars().count());
    let mut out = String::new();
    let mut used = 0usize;
    for line in body.split_inclusive('\n') {
        let n = line.chars().count();
        if used + n > budget {
            break;
        }
        out.push_str(line);
        used += n;
    }
    if out.is_empty() {
        // One enormous first line: cut it on a character boundary.
        out = body.chars().take(budget).collect();
    }
    if out.matches("<details>").count() > out.matches("</details>").count() {
        out.push_str(close);
    }
    out.push_str(&tail);
    out
}

#[cfg(test)]
mod tests {
    use super::fit;

    #[test]
    fn short_bodies_are_unchanged_and_long_ones_fit_with_the_note() {
        assert_eq!(fit("a\nb\n", 10, "n"), "a\nb\n");
        let body = "<details><summary>x</summary>\n".to_string() + &"line ü\n".repeat(1000);
        let out = fit(&body, 500, "the full plan is in the artifact");
        assert!(out.chars().count() <= 500, "{}", out.chars().count());
        assert!(out.ends_with("the full plan is in the artifact\n"));
        assert!(out.contains("</details>"));
        let one_line = "é".repeat(10_000);
        assert!(fit(&one_line, 100, "n").chars().count() <= 100);
    }
}
