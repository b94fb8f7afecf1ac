//! The runnable blocks of a Markdown document.
//!
//! A fenced block whose info string starts with `sh` runs as one script and
//! must succeed; one that starts with `console` is a transcript: each line
//! starting with `$ ` is a command (a trailing `\` continues it on the next
//! line), and the lines after it, up to the next command, are its expected
//! output. A block is not run when the line just before it is
//! `<!-- docs: skip REASON -->` (a reference listing with placeholders, an
//! interactive command), and its runner waits longer for a block preceded by
//! `<!-- docs: timeout SECS -->`. Every other block (`text`, `json`, none)
//! is prose.

/// What kind of runnable block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A script that must exit 0.
    Script(String),
    /// Commands, each with the output it must print.
    Transcript(Vec<Step>),
    /// Marked not to run, and why.
    Skipped(String),
}

/// One command of a transcript and its expected output lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub command: String,
    pub expected: Vec<String>,
    /// The 0-based index in the document of the first expected line (one
    /// past the command's last line): where `--bless` writes the output.
    pub output_at: usize,
}

/// A runnable (or skipped) block and where it starts (1-based line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub line: usize,
    pub kind: Kind,
    /// Seconds each command may take, if the doc says.
    pub timeout_secs: Option<u64>,
}

/// Every `sh` and `console` block of `text`, in order.
pub fn blocks(text: &str) -> Result<Vec<Block>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let trimmed = lines[i].trim_start();
        let fence = if trimmed.starts_with("```") {
            "```"
        } else if trimmed.starts_with("~~~") {
            "~~~"
        } else {
            i += 1;
            continue;
        };
        let info = trimmed.trim_start_matches(fence).trim();
        let start = i;
        let mut body = Vec::new();
        i += 1;
        while i < lines.len() && !lines[i].trim_start().starts_with(fence) {
            body.push(lines[i]);
            i += 1;
        }
        if i == lines.len() {
            return Err(format!("line {}: a code block is never closed", start + 1));
        }
        i += 1;
        let lang = info.split_whitespace().next().unwrap_or("");
        if lang != "sh" && lang != "console" {
            continue;
        }
        let directives: Vec<&str> = lines[..start]
            .iter()
            .rev()
            .take_while(|l| l.trim_start().starts_with("<!-- docs:"))
            .map(|l| l.trim())
            .collect();
        let mut skip = None;
        let mut timeout_secs = None;
        for d in directives {
            let d = d
                .trim_start_matches("<!-- docs:")
                .trim_end_matches("-->")
                .trim();
            if let Some(reason) = d.strip_prefix("skip") {
                let reason = reason.trim();
                if reason.is_empty() {
                    return Err(format!(
                        "line {}: `docs: skip` needs a reason (say why this block is not run)",
                        start
                    ));
                }
                skip = Some(reason.to_owned());
            } else if let Some(secs) = d.strip_prefix("timeout") {
                timeout_secs = Some(secs.trim().parse().map_err(|_| {
                    format!("line {start}: `docs: timeout` needs a number of seconds")
                })?);
            } else {
                return Err(format!("line {start}: unknown directive `docs: {d}`"));
            }
        }
        let kind = match (skip, lang) {
            (Some(reason), _) => Kind::Skipped(reason),
            (None, "sh") => Kind::Script(body.join("\n")),
            (None, _) => Kind::Transcript(transcript(&body, start + 1)?),
        };
        out.push(Block {
            line: start + 1,
            kind,
            timeout_secs,
        });
    }
    Ok(out)
}

/// The steps of a `console` block whose first line is at index `first`.
fn transcript(body: &[&str], first: usize) -> Result<Vec<Step>, String> {
    let mut steps: Vec<Step> = Vec::new();
    let mut continuing = false;
    for (n, line) in body.iter().enumerate() {
        if continuing {
            let step = steps.last_mut().ok_or("continuation without a command")?;
            step.command.push('\n');
            step.command.push_str(line);
            step.output_at = first + n + 1;
            continuing = line.ends_with('\\');
        } else if let Some(cmd) = line.strip_prefix("$ ") {
            steps.push(Step {
                command: cmd.to_owned(),
                expected: Vec::new(),
                output_at: first + n + 1,
            });
            continuing = cmd.ends_with('\\');
        } else {
            match steps.last_mut() {
                Some(step) => step.expected.push((*line).to_owned()),
                None => {
                    return Err(format!(
                        "line {}: a console block must start with a `$ ` command",
                        first + n + 1
                    ))
                }
            }
        }
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_scripts_transcripts_and_skips_with_their_lines() {
        let doc = "# T\n\n```sh\necho a\necho b\n```\n\ntext\n\n```console\n$ echo one \\\n  two\none two\n$ true\n```\n\n<!-- docs: skip placeholders -->\n```sh\nsynod tx transfer --from alice synod1…\n```\n\n```json\n{}\n```\n<!-- docs: timeout 600 -->\n```sh\nsleep 1\n```\n";
        let b = blocks(doc).unwrap();
        assert_eq!(b.len(), 4);
        assert_eq!(b[0].line, 3);
        assert_eq!(b[0].kind, Kind::Script("echo a\necho b".into()));
        assert_eq!(
            b[1].kind,
            Kind::Transcript(vec![
                Step {
                    command: "echo one \\\n  two".into(),
                    expected: vec!["one two".into()],
                    output_at: 12,
                },
                Step {
                    command: "true".into(),
                    expected: vec![],
                    output_at: 14,
                },
            ])
        );
        assert_eq!(b[2].kind, Kind::Skipped("placeholders".into()));
        assert_eq!(b[3].timeout_secs, Some(600));
    }

    #[test]
    fn refuses_what_it_cannot_run_as_written() {
        assert!(blocks("```sh\necho\n")
            .unwrap_err()
            .contains("never closed"));
        assert!(blocks("```console\nno command\n```\n")
            .unwrap_err()
            .contains("must start with"));
        assert!(blocks("<!-- docs: skip -->\n```sh\nx\n```\n")
            .unwrap_err()
            .contains("needs a reason"));
        assert!(blocks("<!-- docs: frobnicate -->\n```sh\nx\n```\n")
            .unwrap_err()
            .contains("unknown directive"));
    }
}
