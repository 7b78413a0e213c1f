use clap::CommandFactory;

/// `ntc completions SHELL`: the shell's completion script, generated from the same definitions as `--help`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// bash, zsh, fish, elvish or powershell.
    pub shell: clap_complete::Shell,
}

pub fn run(a: Args) -> ntc::Result<()> {
    let mut cmd = super::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "ntc", &mut out);
    super::print_stdout(&String::from_utf8_lossy(&out))
}
