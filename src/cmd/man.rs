use clap::CommandFactory;

/// `ntc man`: the manual page (roff), generated from the same definitions as `--help`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The page of one subcommand (`ntc man train` gives ntc-train(1)); without it, ntc(1).
    pub subcommand: Option<String>,
}

pub fn run(a: Args) -> ntc::Result<()> {
    let cmd = super::Cli::command();
    let page = match &a.subcommand {
        None => cmd,
        Some(name) => {
            let names: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_string()).collect();
            let sub = cmd.find_subcommand(name).cloned().ok_or_else(|| {
                ntc::Error::input(format!("ntc man: no subcommand '{name}' (one of: {})", names.join(", ")))
            })?;
            // Named as man(1) expects of a subcommand's page.
            sub.name(format!("ntc-{name}")).version(ntc::NTC_VERSION)
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page).render(&mut out).map_err(ntc::io::stdout_error)?;
    super::print_stdout(&String::from_utf8_lossy(&out))
}
