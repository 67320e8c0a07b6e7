//! `rapidata completions <shell>` and `rapidata man`: generated from the clap definition,
//! so they never drift from the real options.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::CommandFactory;

use super::{Exit, Settings};

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write `rapidata.1` and one page per command (`rapidata-plan.1`, ...) into this
    /// directory instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

pub fn completions(args: CompletionsArgs, _settings: &Settings) -> anyhow::Result<Exit> {
    let mut cmd = super::Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut cmd, "rapidata", &mut out);
    out.flush()?;
    Ok(Exit::Success)
}

pub fn man(args: ManArgs, _settings: &Settings) -> anyhow::Result<Exit> {
    let cmd = super::Cli::command();
    match &args.out_dir {
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            out.flush()?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(cmd, dir)
                .with_context(|| format!("writing man pages to {}", dir.display()))?;
            eprintln!("Wrote the man pages to {}", dir.display());
        }
    }
    Ok(Exit::Success)
}
